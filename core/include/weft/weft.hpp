// Everything in weft::core, in one include.
#pragma once

#include "weft/blocking.hpp"
#include "weft/debug.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/metrics.hpp"
#include "weft/runtime.hpp"
#include "weft/shield.hpp"
#include "weft/task.hpp"
#include "weft/this_task.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
