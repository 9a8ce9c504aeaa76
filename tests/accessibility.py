"""The accessibility check of the browser tests: axe-core (from the npm registry, pinned in package.json,
installed by `make install` / `make test` with `npm ci`) run on the page a test has reached.

``assert_accessible(page)`` fails listing every violation axe rates "serious" or "critical" (rule, what it
asks for, and the elements, as CSS selectors). Call it once the page has settled: after a navigation, or
after the error state of a form is shown.

The pages send a strict Content-Security-Policy (scripts only with the response's nonce), so axe is not
added as a <script> tag: its source is evaluated through the browser's DevTools protocol
(``page.evaluate``), which the page's CSP does not govern. The page itself, its headers and its CSP are
checked exactly as served; no test needs a context with ``bypass_csp``.
"""

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


@cache
def _axe_source() -> str:
    if not AXE.is_file():
        raise AssertionError(
            f"{AXE} is missing: run `make install` (it runs `npm ci`, which installs the axe-core "
            "version pinned in package-lock.json)"
        )
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Page, impacts: tuple[str, ...] = FAILING_IMPACTS) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, those of the given impacts only. A page that reloads
    itself (one that updates by itself) while axe runs is checked again once it has loaded."""
    for _ in range(2):
        try:
            return _run_axe(page, impacts)
        except PlaywrightError as error:
            if "context was destroyed" not in str(error):
                raise
    return _run_axe(page, impacts)


def _run_axe(page: Page, impacts: tuple[str, ...]) -> list[dict[str, Any]]:
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(f"() => {{ {_axe_source()}\n }}")
    results = page.evaluate(
        "async () => { const r = await window.axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,"
        " nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))})); }"
    )
    return [violation for violation in results if violation["impact"] in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for violation in violations:
        impact, rule, help_text = violation["impact"], violation["id"], violation["help"]
        lines.append(f"- [{impact}] {rule}: {help_text} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            parts = node["target"]
            lines.append("    " + " ".join(" >> ".join(p) if isinstance(p, list) else p for p in parts))
            summary = (node["summary"] or "").splitlines()
            lines.extend(f"      {line.strip()}" for line in summary if line.strip())
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    """Fail, listing them all, if axe finds any serious or critical violation on the page."""
    violations = axe_violations(page)
    assert not violations, (
        f"{len(violations)} serious or critical accessibility violation(s) on {page.url}:\n"
        f"{describe(violations)}"
    )
