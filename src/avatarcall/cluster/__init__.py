"""Several nodes, one service: the flow's ports over Redis (``AVATARCALL_REDIS_URL``).

``RedisCallRepository`` (calls, with compare-and-set), ``RedisPeerBus`` (tabs on any node),
``RedisScheduler`` (timers fired by one node), ``RoutedAvatarControl`` (avatars commanded from
any node), on a ``Node`` (this server's heartbeat and channel). Unset, the in-process adapters
serve alone (``./run.sh``).
"""

from avatarcall.cluster.avatars import RoutedAvatarControl
from avatarcall.cluster.bus import RedisPeerBus
from avatarcall.cluster.node import Node
from avatarcall.cluster.repository import RedisCallRepository
from avatarcall.cluster.scheduler import RedisScheduler

__all__ = ["Node", "RedisCallRepository", "RedisPeerBus", "RedisScheduler",
           "RoutedAvatarControl"]
