"""The grade schema reaches local servers where they enforce it (json_object + schema, Ollama's
json_schema), and a server that rejects a schema under json_object still gets json_object."""

from __future__ import annotations

import json
from pathlib import Path

from interviewer.config import STATE_NAME
from interviewer.grading.endpoint_check import check_endpoint
from interviewer.grading.request import grade_schema
from tests import chat_server as cs
from tests.chat_server import ChatServer
from tests.test_grading import ANSWER, QUESTION, formats, grader_for, profile_for


def test_llamacpp_python_gets_the_schema_inside_json_object(chat_server: ChatServer) -> None:
    chat_server.handler = cs.personality("llamacpp_python", cs.grammar_bound(("json_object",)))
    outcome = grader_for(chat_server).grade(QUESTION, ANSWER)
    assert outcome.graded, outcome.ungraded_detail
    # json_schema is refused with a 500 naming response_format, then one json_object request
    # carrying the schema gets a complete grade: no `{}`, no re-ask.
    assert formats(chat_server) == ["json_schema", "json_object"]
    assert chat_server.last.response_format == {
        "type": "json_object",
        "schema": grade_schema(QUESTION),
    }
    assert outcome.info.settings["contract"] == "json_object"
    chat_server.clear()
    again = grader_for(chat_server).grade(QUESTION, ANSWER)
    assert again.graded
    assert formats(chat_server) == ["json_object"]
    assert chat_server.last.schema == grade_schema(QUESTION)


def test_without_the_schema_json_object_lets_empty_json_through(chat_server: ChatServer) -> None:
    # What happened before the schema was sent: `{}` passes the format and costs a re-ask.
    chat_server.handler = cs.personality("llamacpp_python", cs.grammar_bound(("json_object",)))
    chat_server.enqueue(cs.completion("{}"))
    outcome = grader_for(chat_server, contract="json_object").grade(QUESTION, ANSWER)
    assert outcome.graded
    assert len(chat_server.chat_requests) == 2
    assert all(r.schema == grade_schema(QUESTION) for r in chat_server.chat_requests)


def test_ollama_takes_the_schema_from_json_schema(chat_server: ChatServer) -> None:
    # Ollama's /v1 copies response_format.json_schema.schema into its native `format` and
    # reads nothing else: json_object becomes format "json" whatever rides along.
    chat_server.handler = cs.personality("ollama", cs.grammar_bound(("json_schema",)))
    outcome = grader_for(chat_server).grade(QUESTION, ANSWER)
    assert outcome.graded, outcome.ungraded_detail
    assert formats(chat_server) == ["json_schema"]
    assert chat_server.last.schema == grade_schema(QUESTION)


def test_schema_rejected_under_json_object_is_dropped_not_json_object(
    chat_server: ChatServer, isolated_home: Path
) -> None:
    chat_server.handler = cs.personality("strict_validator")
    outcome = grader_for(chat_server).grade(QUESTION, ANSWER)
    assert outcome.graded, outcome.ungraded_detail
    assert formats(chat_server) == ["json_schema", "json_object", "json_object"]
    first, second = chat_server.chat_requests[1:]
    assert first.schema is not None
    assert second.response_format == {"type": "json_object"}
    state = json.loads((isolated_home / STATE_NAME).read_text(encoding="utf-8"))
    entry = state["endpoints"][f"{chat_server.url}|test-model"]
    assert entry["contract"] == "json_object"
    assert entry["json_object_schema"] is False
    assert "unknown field 'schema'" in entry["rejected"]["json_object+schema"]
    chat_server.clear()
    grader_for(chat_server).grade(QUESTION, ANSWER)
    assert [r.response_format for r in chat_server.chat_requests] == [{"type": "json_object"}]


def test_batch_body_carries_the_schema_under_json_object(chat_server: ChatServer) -> None:
    grader = grader_for(chat_server, contract="json_object")
    body = grader.request_body(QUESTION, ANSWER)
    assert body["response_format"] == {"type": "json_object", "schema": grade_schema(QUESTION)}


def test_check_probes_json_object_with_a_schema(chat_server: ChatServer) -> None:
    chat_server.handler = cs.personality("llamacpp_python")
    report = check_endpoint(profile_for(chat_server), None)
    assert report.chosen == "json_object"
    by_contract = {(p.contract, p.schema): p for p in report.probes}
    assert not by_contract["json_schema", True].accepted
    assert by_contract["json_object", True].accepted
    assert chat_server.chat_requests[1].schema is not None


def test_check_falls_back_to_json_object_without_schema(
    chat_server: ChatServer, isolated_home: Path
) -> None:
    chat_server.handler = cs.personality("strict_validator")
    report = check_endpoint(profile_for(chat_server), None)
    assert report.chosen == "json_object"
    accepted = [(p.contract, p.schema) for p in report.probes if p.accepted]
    assert accepted[0] == ("json_object", False)
    assert grader_for(chat_server).request_body(QUESTION, ANSWER)["response_format"] == {
        "type": "json_object"
    }


def test_small_context_window_gets_the_compact_prompt(chat_server: ChatServer) -> None:
    small = grader_for(chat_server, context_window=4096, max_output_tokens=1024)
    assert small.prompt_version.startswith("grader_system_compact@")
    outcome = small.grade(QUESTION, ANSWER)
    assert outcome.graded, outcome.ungraded_detail
    assert outcome.info.prompt_version == small.prompt_version
    system, request = chat_server.last.messages
    assert "A short example" not in system["content"]
    assert system["content"].startswith("You grade one written answer")
    # The short rubric keeps the lowest and highest anchored level of each criterion.
    assert "  0: Wrong or off-topic" in request["content"]
    assert "  4: Entirely correct" in request["content"]
    assert "  2: Partly correct" not in request["content"]
    chat_server.clear()
    roomy = grader_for(chat_server, context_window=8192)
    assert roomy.prompt_version.startswith("grader_system@")
    roomy.grade(QUESTION, ANSWER)
    assert "  2: Partly correct" in chat_server.last.messages[1]["content"]


def test_practice_warning_says_when_the_check_could_not_grade(chat_server: ChatServer) -> None:
    from interviewer.grading.endpoint_state import grading_warning, remember_discrimination

    profile = profile_for(chat_server)
    assert grading_warning(profile) is None  # never checked: nothing to warn about
    remember_discrimination(
        profile, "ungraded", "could not grade the check answers (the strong answer: x)", "v"
    )
    warning = grading_warning(profile)
    assert warning is not None
    assert warning.startswith("in `interviewer endpoints check`, test-model could not grade")
    assert warning.endswith("grades from this model are not to be trusted.")
    remember_discrimination(profile, "discriminates", "strong 90, weak 10", "v")
    assert grading_warning(profile) is None
