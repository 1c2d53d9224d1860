"""Data model: routing configuration, tickets and their steps, and the usage audit trail."""

from .apikeys import ApiKey
from .budgets import Budget, BudgetSpend
from .connectors import Connector, Delivery, TicketMessage, WebhookEndpoint
from .feedback import ApprovedReply, Feedback, PlaygroundRun
from .quality import LocalModelTraining, ShadowComparison
from .routing import (
    DEFAULT_CATEGORIES,
    MAX_POOL_SIZE,
    FallbackEntry,
    LLMModel,
    PoolEntry,
    Provider,
    ReasoningEffort,
    Router,
    RouterTask,
    TokenLimitParameter,
)
from .tickets import Ticket, TriageStep
from .usage import CallOutcome, ModelCall

__all__ = [
    "ApiKey",
    "DEFAULT_CATEGORIES",
    "MAX_POOL_SIZE",
    "ApprovedReply",
    "Budget",
    "BudgetSpend",
    "CallOutcome",
    "Connector",
    "Delivery",
    "FallbackEntry",
    "Feedback",
    "LLMModel",
    "LocalModelTraining",
    "ModelCall",
    "PlaygroundRun",
    "PoolEntry",
    "Provider",
    "ReasoningEffort",
    "TokenLimitParameter",
    "Router",
    "RouterTask",
    "ShadowComparison",
    "Ticket",
    "TicketMessage",
    "TriageStep",
    "WebhookEndpoint",
]
