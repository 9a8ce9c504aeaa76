"""The contracts (contracts/) and the workflows agree: every Update, Query and signal a caller can name is
handled by a registered workflow, with the argument and answer types the contract says, under a wire name
that recorded histories and running workflows already use."""

import importlib
import pkgutil

from temporalio import workflow

import contracts
from contracts.calls import QueryName, SignalName, UpdateName
from workflows.registry import WORKFLOWS

# The wire names running workflows and tests/histories carry: changing one breaks them.
WIRE_NAMES = {
    "ApplicationWorkflow": {
        "updates": {
            "verify_info",
            "answer_questions",
            "sign",
            "add_card",
            "hold_authenticated",
            "complete",
            "review",
            "expire",
        },
        "queries": {"state"},
        "signals": set(),
    },
    "AssignmentWorkflow": {
        "updates": {"adjust", "extend", "cancel", "rebind"},
        "queries": {"state"},
        "signals": {"covered", "card_updated", "payment_authenticated"},
    },
    "ContractorImportWorkflow": {"updates": set(), "queries": {"progress"}, "signals": set()},
    "CreatorIQCreatorSyncWorkflow": {"updates": set(), "queries": set(), "signals": {"request_sync"}},
    "ApplicationRemindersWorkflow": {"updates": set(), "queries": {"last_sweep"}, "signals": {"sweep_every"}},
}


def _declared() -> list[tuple[str, object]]:
    found = []
    for module in pkgutil.iter_modules(contracts.__path__):
        loaded = importlib.import_module(f"contracts.{module.name}")
        found += [
            (f"contracts.{module.name}.{name}", value)
            for name, value in vars(loaded).items()
            if isinstance(value, UpdateName | QueryName | SignalName)
        ]
    return found


def _definitions() -> dict[str, workflow._Definition]:
    return {d.name: d for d in (workflow._Definition.from_class(cls) for cls in WORKFLOWS) if d.name}


def test_every_named_message_is_handled_with_the_types_its_contract_says() -> None:
    definitions = _definitions()
    unhandled = []
    for where, message in _declared():
        if isinstance(message, UpdateName):
            handlers = [d.updates[message.name] for d in definitions.values() if message.name in d.updates]
            if not any(h.ret_type is message.result_type for h in handlers):
                unhandled.append(where)
        elif isinstance(message, QueryName):
            handlers = [d.queries[message.name] for d in definitions.values() if message.name in d.queries]
            if not any(h.ret_type is message.result_type for h in handlers):
                unhandled.append(where)
        elif not any(message.name in d.signals for d in definitions.values()):
            unhandled.append(where)
    assert unhandled == []


def test_the_wire_names_are_those_running_workflows_use() -> None:
    definitions = _definitions()
    named = {
        name: {
            "updates": set(definitions[name].updates),
            "queries": set(definitions[name].queries) - {"__stack_trace", "__enhanced_stack_trace"},
            "signals": set(definitions[name].signals),
        }
        for name in WIRE_NAMES
    }
    assert named == WIRE_NAMES
