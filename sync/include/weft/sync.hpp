// Everything in weft::sync, in one include: Lock, Semaphore, BoundedSemaphore,
// Event, Condition, Barrier, Queue, LifoQueue, PriorityQueue.
#pragma once

#include "weft/barrier.hpp"
#include "weft/condition.hpp"
#include "weft/event.hpp"
#include "weft/future.hpp"
#include "weft/lifo_queue.hpp"
#include "weft/lock.hpp"
#include "weft/priority_queue.hpp"
#include "weft/queue.hpp"
#include "weft/semaphore.hpp"
#include "weft/sync_errors.hpp"
