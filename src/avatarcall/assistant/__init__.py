"""The assistant a waiting customer talks to: the company's FAQ (BM25 over stemmed words),
what the queue says, and what to keep for the agent. Pure: the flow carries its words."""

from avatarcall.assistant.faq import Faq, FaqEntry, FaqError, Match, load_faqs
from avatarcall.assistant.replies import Assistant, Reply, ReplyKind, Waiting

__all__ = ["Assistant", "Faq", "FaqEntry", "FaqError", "Match", "Reply", "ReplyKind", "Waiting",
           "load_faqs"]
