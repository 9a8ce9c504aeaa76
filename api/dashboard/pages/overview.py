"""The overview: how the program is doing over a period the viewer chooses (numbers, charts over time, by
state and by job category, from services.program_overview), and what needs attention now, each item a link
to the object."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.dashboard import charts
from api.dashboard.auth import CurrentViewer
from api.dashboard.rendering import page
from api.dashboard.words import page_words
from api.deps import DbSession
from domain.errors import DomainError
from domain.periods import PRESET_WORDS, Grouping, Preset
from services.attention import needs_attention
from services.program_overview import ProgramOverview, period_for, program_overview

router = APIRouter()


def _charts(overview: ProgramOverview) -> list[charts.Chart]:
    step = "week" if overview.period.grouping is Grouping.WEEK else "month"
    labels, names = overview.short_labels, [f.label for f in overview.over_time]
    return [
        charts.over_time(
            f"Applications started and completed by {step}",
            labels,
            {
                "Started": [f.started for f in overview.over_time],
                "Completed": [f.completed for f in overview.over_time],
            },
            names=names,
        ),
        charts.over_time(
            f"Premium by {step}",
            labels,
            {"Premium": [f.premium for f in overview.over_time]},
            True,
            names,
        ),
        charts.over_time(
            f"Contractor pay by {step}",
            labels,
            {"Contractor pay": [f.pay for f in overview.over_time]},
            True,
            names,
        ),
    ]


@router.get("", response_class=HTMLResponse)
def overview(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    period: str = "",
    first: str = "",
    last: str = "",
    by: str = "",
) -> Response:
    error, status = None, 200
    try:
        chosen = period_for(period, first[:20], last[:20], by)
    except DomainError as refusal:
        error, status = page_words(refusal), 400
        chosen = period_for(Preset.LAST_12_MONTHS, "", "", by)
    program = program_overview(session, viewer.tenant, chosen)
    breakdowns = [
        ("state", "By work state", program.by_state),
        ("category", "By job category", program.by_category),
    ]
    return page(
        request,
        "overview.html",
        status,
        error=error,
        program=program,
        charts=_charts(program),
        state_chart=charts.ranked(
            "Contractors insured by work state",
            [f.label for f in program.by_state],
            [f.contractors_insured for f in program.by_state],
        ),
        category_chart=charts.ranked(
            "Contractors insured by job category",
            [f.label for f in program.by_category],
            [f.contractors_insured for f in program.by_category],
        ),
        breakdowns=breakdowns,
        presets=PRESET_WORDS,
        groupings={Grouping.WEEK: "Week", Grouping.MONTH: "Month"},
        first=first if chosen.preset is Preset.CUSTOM else chosen.first_day.isoformat(),
        last=last if chosen.preset is Preset.CUSTOM else chosen.last_day.isoformat(),
        concerns=needs_attention(session, viewer.tenant),
    )
