"""Static memory planning: buffer requests -> offsets in one arena.

lifetimes.buffer_requests turns a graph and an execution order into requests and overlap
allowances; planner.plan runs every placement algorithm and keeps the smallest plan that
passes verify.verify; order.best_order picks the execution order whose plan is smallest.
"""

from mcuforge.plan.algorithms import greedy_by_breadth, greedy_by_conflict, greedy_by_size, greedy_by_start, promote_top
from mcuforge.plan.exact import exact, exact_search
from mcuforge.plan.lifetimes import Buffers, buffer_requests
from mcuforge.plan.order import best_order, planned_arena
from mcuforge.plan.planner import ALGORITHMS, plan, plan_all
from mcuforge.plan.requests import BufferRequest, Overlap, Plan, PlanError, live_bytes, lower_bound
from mcuforge.plan.verify import verify

__all__ = [
    "ALGORITHMS",
    "BufferRequest",
    "Buffers",
    "Overlap",
    "Plan",
    "PlanError",
    "best_order",
    "buffer_requests",
    "exact",
    "exact_search",
    "greedy_by_breadth",
    "greedy_by_conflict",
    "greedy_by_size",
    "greedy_by_start",
    "live_bytes",
    "lower_bound",
    "plan",
    "plan_all",
    "promote_top",
    "planned_arena",
    "verify",
]
