// Everything in weft::core, in one include.
#pragma once

#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"
#include "weft/yield.hpp"
