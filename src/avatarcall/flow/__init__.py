"""The call flow: the one place that joins the call domain, the avatar control and the wire
messages. ``CallFlow`` (pages and timers), ``AvatarDirector`` (the avatar of each call),
``AvatarSeats`` (capacity and its line), the ports and their in-process adapters."""

from avatarcall.flow.bus import LocalPeerBus
from avatarcall.flow.call_flow import CallFlow
from avatarcall.flow.director import AvatarDirector
from avatarcall.flow.ports import CallRepository, Fired, PeerBus, Scheduler, Tab, Timer
from avatarcall.flow.scheduler import AsyncioScheduler
from avatarcall.flow.seats import AvatarSeats

__all__ = [
    "AsyncioScheduler",
    "AvatarDirector",
    "AvatarSeats",
    "CallFlow",
    "CallRepository",
    "Fired",
    "LocalPeerBus",
    "PeerBus",
    "Scheduler",
    "Tab",
    "Timer",
]
