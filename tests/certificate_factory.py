"""Certificates of insurance the suite makes itself, in the ACORD 25 (2016/03) layout, in the three forms
contractors bring them: ``fillable(spec)`` (an AcroForm with ACORD's field names, filled in),
``flattened(spec)`` (the same page drawn as text, no fields) and ``scanned(spec)`` (the flattened page
printed to an image, turned a little and speckled, in an image-only PDF). ``CertificateSpec`` says what is
on one, with sensible defaults; the helpers below make the known defects; ``hostile`` files are the ones a
reader must refuse with a reason.

The field names are ACORD's (as the published fillable ACORD 25 names them, without the ``F[0].P1[0].``
prefix of its XFA hierarchy); the "OTHER" rows use suffixes _A and _B, one per row."""

import functools
import io
import random
import zlib
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from PIL import Image, ImageDraw, ImageFilter
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from domain.certificates import CoverageKind, LimitKind, ParsedCertificate, Read

# Real NAIC company codes (the NAIC's public directory).
HARTFORD = ("Hartford Fire Insurance Company", "19682")
TRAVELERS = ("Travelers Indemnity Company", "25658")
ZURICH = ("Zurich American Insurance Company", "16535")
FEDERAL = ("Federal Insurance Company", "20281")
CONTINENTAL = ("Continental Casualty Company", "20443")


@dataclass(frozen=True)
class PartySpec:
    name: str
    street: str = ""
    city: str = ""
    state: str = ""
    postal: str = ""

    @property
    def place(self) -> str:
        return f"{self.city}, {self.state} {self.postal}".strip(", ") if self.city else ""

    @property
    def address(self) -> str:
        """The address as the reader gives it: the lines joined with ", "."""
        return ", ".join(part for part in (self.street, self.place) if part)


@dataclass(frozen=True)
class InsurerSpec:
    letter: str
    name: str
    naic: str


@dataclass(frozen=True)
class PolicySpec:
    coverage: CoverageKind
    letter: str
    number: str
    effective: date
    expires: date
    limits: dict[LimitKind, int]
    additional_insured: bool | None = True  # None: the ADDL INSD box left empty
    waiver_of_subrogation: bool | None = True


def _default_policies(issued: date) -> tuple[PolicySpec, ...]:
    effective, expires = issued - timedelta(days=60), issued + timedelta(days=305)
    return (
        PolicySpec(
            CoverageKind.GENERAL_LIABILITY,
            "A",
            "GL-4471902",
            effective,
            expires,
            {
                LimitKind.EACH_OCCURRENCE: 1_000_000,
                LimitKind.DAMAGE_TO_RENTED_PREMISES: 100_000,
                LimitKind.MEDICAL_EXPENSE: 5_000,
                LimitKind.PERSONAL_ADVERTISING_INJURY: 1_000_000,
                LimitKind.GENERAL_AGGREGATE: 2_000_000,
                LimitKind.PRODUCTS_COMPLETED_OPERATIONS: 2_000_000,
            },
        ),
        PolicySpec(
            CoverageKind.AUTO,
            "A",
            "BA-9921044",
            effective,
            expires,
            {LimitKind.COMBINED_SINGLE_LIMIT: 1_000_000},
        ),
        PolicySpec(
            CoverageKind.WORKERS_COMP,
            "B",
            "WC-3318820",
            effective,
            expires,
            {
                LimitKind.EL_EACH_ACCIDENT: 1_000_000,
                LimitKind.EL_DISEASE_EACH_EMPLOYEE: 1_000_000,
                LimitKind.EL_DISEASE_POLICY_LIMIT: 1_000_000,
            },
            additional_insured=None,  # ACORD 25 has no ADDL INSD box for workers' comp
        ),
        PolicySpec(
            CoverageKind.PROFESSIONAL,
            "C",
            "PL-5520017",
            effective,
            expires,
            {LimitKind.EACH_CLAIM: 1_000_000, LimitKind.AGGREGATE: 2_000_000},
        ),
    )


DEFAULT_DATE = date(2026, 11, 2)


@dataclass(frozen=True)
class CertificateSpec:
    issued: date = DEFAULT_DATE
    producer: PartySpec = PartySpec(
        "Bayside Risk Partners", "88 Harbor Way, Suite 300", "Oakland", "CA", "94607"
    )
    insured: PartySpec = PartySpec(
        "Marisol Vega Studio LLC", "1417 Valencia St", "San Francisco", "CA", "94110"
    )
    insurers: tuple[InsurerSpec, ...] = (
        InsurerSpec("A", *HARTFORD),
        InsurerSpec("B", *TRAVELERS),
        InsurerSpec("C", *ZURICH),
    )
    policies: tuple[PolicySpec, ...] = field(default_factory=lambda: _default_policies(DEFAULT_DATE))
    holder: PartySpec = PartySpec("Acme Brands Inc", "500 Market St", "San Francisco", "CA", "94105")
    description: str = "Certificate holder is included as additional insured on general liability and auto."

    def policy(self, coverage: CoverageKind) -> PolicySpec:
        return next(p for p in self.policies if p.coverage is coverage)


def dated(issued: date, **changes: object) -> CertificateSpec:
    """A certificate issued on ``issued`` with its policies in force around that day."""
    return replace(CertificateSpec(issued=issued, policies=_default_policies(issued)), **changes)  # type: ignore[arg-type]


# ---- the known defects ---------------------------------------------------------------------------------


def expired(spec: CertificateSpec, days_ago: int = 10) -> CertificateSpec:
    """Every policy ended ``days_ago`` days before the certificate's date."""
    ended = spec.issued - timedelta(days=days_ago)
    return replace(
        spec,
        policies=tuple(
            replace(p, effective=ended - timedelta(days=365), expires=ended) for p in spec.policies
        ),
    )


def low_limits(spec: CertificateSpec, occurrence: int = 300_000, aggregate: int = 600_000) -> CertificateSpec:
    """General liability below the usual $1M / $2M."""
    return _with_limits(
        spec,
        CoverageKind.GENERAL_LIABILITY,
        {LimitKind.EACH_OCCURRENCE: occurrence, LimitKind.GENERAL_AGGREGATE: aggregate},
    )


def without(spec: CertificateSpec, coverage: CoverageKind) -> CertificateSpec:
    return replace(spec, policies=tuple(p for p in spec.policies if p.coverage is not coverage))


def without_workers_comp(spec: CertificateSpec) -> CertificateSpec:
    return without(spec, CoverageKind.WORKERS_COMP)


def wrong_holder(spec: CertificateSpec, name: str = "Northwind Traders LLC") -> CertificateSpec:
    return replace(spec, holder=replace(spec.holder, name=name))


def without_additional_insured(spec: CertificateSpec) -> CertificateSpec:
    """ADDL INSD answered "N" on every policy."""
    return replace(
        spec,
        policies=tuple(
            replace(p, additional_insured=False) if p.additional_insured is not None else p
            for p in spec.policies
        ),
    )


def forged_naic(spec: CertificateSpec, letter: str = "A", naic: str = FEDERAL[1]) -> CertificateSpec:
    """Insurer ``letter`` keeps its name but shows a NAIC number that belongs to another insurer."""
    return replace(
        spec, insurers=tuple(replace(i, naic=naic) if i.letter == letter else i for i in spec.insurers)
    )


def _with_limits(
    spec: CertificateSpec, coverage: CoverageKind, limits: dict[LimitKind, int]
) -> CertificateSpec:
    return replace(
        spec,
        policies=tuple(
            replace(p, limits={**p.limits, **limits}) if p.coverage is coverage else p for p in spec.policies
        ),
    )


# ---- the ACORD 25 layout -------------------------------------------------------------------------------
# Positions in points from the page's top-left corner (reportlab's y is converted when drawing).

PAGE_W, PAGE_H = letter
X_LTR, X_TYPE, X_ADDL, X_SUBR, X_NUMBER, X_EFF, X_EXP, X_LIMIT, X_AMOUNT_RIGHT = (
    26,
    46,
    172,
    196,
    220,
    316,
    370,
    424,
    586,
)
X_INSURERS, X_NAIC, X_RIGHT_HALF = 316, 540, 310
LINE = 11
Y_TABLE = 246  # the first line of the coverages table

# (coverage, the label printed in the TYPE OF INSURANCE column, the limit lines, the ACORD field names)
_GL_LIMITS = (
    (LimitKind.EACH_OCCURRENCE, "EACH OCCURRENCE", "GeneralLiability_EachOccurrence_LimitAmount_A"),
    (
        LimitKind.DAMAGE_TO_RENTED_PREMISES,
        "DAMAGE TO RENTED PREMISES (Ea occ)",
        "GeneralLiability_FireDamageRentedPremises_EachOccurrenceLimitAmount_A",
    ),
    (
        LimitKind.MEDICAL_EXPENSE,
        "MED EXP (Any one person)",
        "GeneralLiability_MedicalExpense_EachPersonLimitAmount_A",
    ),
    (
        LimitKind.PERSONAL_ADVERTISING_INJURY,
        "PERSONAL & ADV INJURY",
        "GeneralLiability_PersonalAndAdvertisingInjury_LimitAmount_A",
    ),
    (LimitKind.GENERAL_AGGREGATE, "GENERAL AGGREGATE", "GeneralLiability_GeneralAggregate_LimitAmount_A"),
    (
        LimitKind.PRODUCTS_COMPLETED_OPERATIONS,
        "PRODUCTS - COMP/OP AGG",
        "GeneralLiability_ProductsAndCompletedOperations_AggregateLimitAmount_A",
    ),
)
_AUTO_LIMITS = (
    (
        LimitKind.COMBINED_SINGLE_LIMIT,
        "COMBINED SINGLE LIMIT (Ea accident)",
        "Vehicle_CombinedSingleLimit_EachAccidentAmount_A",
    ),
    (
        LimitKind.BODILY_INJURY_PER_PERSON,
        "BODILY INJURY (Per person)",
        "Vehicle_BodilyInjury_PerPersonLimitAmount_A",
    ),
    (
        LimitKind.BODILY_INJURY_PER_ACCIDENT,
        "BODILY INJURY (Per accident)",
        "Vehicle_BodilyInjury_PerAccidentLimitAmount_A",
    ),
    (
        LimitKind.PROPERTY_DAMAGE,
        "PROPERTY DAMAGE (Per accident)",
        "Vehicle_PropertyDamage_PerAccidentLimitAmount_A",
    ),
)
_UMBRELLA_LIMITS = (
    (LimitKind.EACH_OCCURRENCE, "EACH OCCURRENCE", "ExcessUmbrella_Umbrella_EachOccurrenceAmount_A"),
    (LimitKind.AGGREGATE, "AGGREGATE", "ExcessUmbrella_Umbrella_AggregateAmount_A"),
)
_WC_LIMITS = (
    (
        LimitKind.EL_EACH_ACCIDENT,
        "E.L. EACH ACCIDENT",
        "WorkersCompensationEmployersLiability_EmployersLiability_EachAccidentLimitAmount_A",
    ),
    (
        LimitKind.EL_DISEASE_EACH_EMPLOYEE,
        "E.L. DISEASE - EA EMPLOYEE",
        "WorkersCompensationEmployersLiability_EmployersLiability_DiseaseEachEmployeeLimitAmount_A",
    ),
    (
        LimitKind.EL_DISEASE_POLICY_LIMIT,
        "E.L. DISEASE - POLICY LIMIT",
        "WorkersCompensationEmployersLiability_EmployersLiability_DiseasePolicyLimitAmount_A",
    ),
)


@dataclass(frozen=True)
class _Block:
    labels: tuple[str, ...]  # printed in the TYPE OF INSURANCE column
    letter: str
    number: str
    effective: str
    expires: str
    addl: str | None
    subr: str
    limits: tuple[tuple[LimitKind, str, str], ...]
    lines: int


_BLOCKS: dict[CoverageKind, _Block] = {
    CoverageKind.GENERAL_LIABILITY: _Block(
        ("COMMERCIAL GENERAL LIABILITY", "CLAIMS-MADE  X OCCUR"),
        "GeneralLiability_InsurerLetterCode_A",
        "Policy_GeneralLiability_PolicyNumberIdentifier_A",
        "Policy_GeneralLiability_EffectiveDate_A",
        "Policy_GeneralLiability_ExpirationDate_A",
        "CertificateOfInsurance_GeneralLiability_AdditionalInsuredCode_A",
        "Policy_GeneralLiability_SubrogationWaivedCode_A",
        _GL_LIMITS,
        6,
    ),
    CoverageKind.AUTO: _Block(
        ("AUTOMOBILE LIABILITY", "ANY AUTO"),
        "Vehicle_InsurerLetterCode_A",
        "Policy_AutomobileLiability_PolicyNumberIdentifier_A",
        "Policy_AutomobileLiability_EffectiveDate_A",
        "Policy_AutomobileLiability_ExpirationDate_A",
        "CertificateOfInsurance_AutomobileLiability_AdditionalInsuredCode_A",
        "Policy_AutomobileLiability_SubrogationWaivedCode_A",
        _AUTO_LIMITS,
        4,
    ),
    CoverageKind.UMBRELLA: _Block(
        ("UMBRELLA LIAB", "EXCESS LIAB"),
        "ExcessUmbrella_InsurerLetterCode_A",
        "Policy_ExcessLiability_PolicyNumberIdentifier_A",
        "Policy_ExcessLiability_EffectiveDate_A",
        "Policy_ExcessLiability_ExpirationDate_A",
        "CertificateOfInsurance_ExcessLiability_AdditionalInsuredCode_A",
        "Policy_ExcessLiability_SubrogationWaivedCode_A",
        _UMBRELLA_LIMITS,
        2,
    ),
    CoverageKind.WORKERS_COMP: _Block(
        ("WORKERS COMPENSATION", "AND EMPLOYERS' LIABILITY"),
        "WorkersCompensationEmployersLiability_InsurerLetterCode_A",
        "Policy_WorkersCompensationAndEmployersLiability_PolicyNumberIdentifier_A",
        "Policy_WorkersCompensationAndEmployersLiability_EffectiveDate_A",
        "Policy_WorkersCompensationAndEmployersLiability_ExpirationDate_A",
        None,
        "Policy_WorkersCompensation_SubrogationWaivedCode_A",
        _WC_LIMITS,
        3,
    ),
}
_OTHER_TITLES = {CoverageKind.PROFESSIONAL: "PROFESSIONAL LIABILITY", CoverageKind.CYBER: "CYBER LIABILITY"}
_OTHER_LIMITS = (LimitKind.EACH_CLAIM, "EACH CLAIM"), (LimitKind.AGGREGATE, "AGGREGATE")
OTHER_ROWS = "AB"


def _other_fields(row: str) -> dict[str, str]:
    return {
        "letter": f"OtherPolicy_InsurerLetterCode_{row}",
        "description": f"OtherPolicy_OtherPolicyDescription_{row}",
        "number": f"OtherPolicy_PolicyNumberIdentifier_{row}",
        "effective": f"OtherPolicy_PolicyEffectiveDate_{row}",
        "expires": f"OtherPolicy_PolicyExpirationDate_{row}",
        "addl": f"CertificateOfInsurance_OtherPolicy_AdditionalInsuredCode_{row}",
        "subr": f"Policy_OtherPolicy_SubrogationWaivedCode_{row}",
        "code_1": f"OtherPolicy_CoverageCode_{row}",
        "limit_1": f"OtherPolicy_CoverageLimitAmount_{row}",
        "code_2": f"OtherPolicy_SecondCoverageCode_{row}",
        "limit_2": f"OtherPolicy_SecondCoverageLimitAmount_{row}",
    }


def _day(value: date) -> str:
    return f"{value:%m/%d/%Y}"


def _yn(value: bool | None) -> str:
    return "" if value is None else ("Y" if value else "N")


def _amount(value: int) -> str:
    return f"{value:,}"


class _Page:
    """Draws labels, and values either as text (flattened) or as filled-in form fields (fillable)."""

    def __init__(self, canvas: Canvas, as_fields: bool) -> None:
        self.canvas, self.as_fields = canvas, as_fields

    def label(self, x: float, y: float, text: str, size: float = 6.5, bold: bool = True) -> None:
        self.canvas.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.canvas.drawString(x, PAGE_H - y - size, text)

    def value(self, name: str, x: float, y: float, text: str, width: float, right: bool = False) -> None:
        if not text:
            return
        if self.as_fields:
            self.canvas.acroForm.textfield(
                name=name,
                value=text,
                x=x,
                y=PAGE_H - y - 10,
                width=width,
                height=11,
                fontName="Helvetica",
                fontSize=8,
                borderWidth=0,
                fillColor=None,
                forceBorder=False,
            )
            return
        self.canvas.setFont("Helvetica", 8)
        if right:
            self.canvas.drawRightString(x + width, PAGE_H - y - 8, text)
        else:
            self.canvas.drawString(x, PAGE_H - y - 8, text)

    def rule(self, y: float) -> None:
        self.canvas.setLineWidth(0.6)
        self.canvas.line(24, PAGE_H - y, PAGE_W - 24, PAGE_H - y)


def _party(page: _Page, prefix: str, party: PartySpec, x: float, y: float, width: float) -> None:
    page.value(f"{prefix}_FullName_A", x, y, party.name, width)
    page.value(f"{prefix}_MailingAddress_LineOne_A", x, y + LINE, party.street, width)
    if page.as_fields:  # ACORD's fields split the last line; drawn, it is one line
        page.value(f"{prefix}_MailingAddress_CityName_A", x, y + 2 * LINE, party.city, 110)
        page.value(f"{prefix}_MailingAddress_StateOrProvinceCode_A", x + 112, y + 2 * LINE, party.state, 20)
        page.value(f"{prefix}_MailingAddress_PostalCode_A", x + 134, y + 2 * LINE, party.postal, 50)
    else:
        page.value("", x, y + 2 * LINE, party.place, width)


def _policy_row(page: _Page, names: dict[str, str | None], policy: PolicySpec, y: float) -> None:
    page.value(names["letter"] or "", X_LTR + 4, y, policy.letter, 14)
    if names["addl"]:
        page.value(names["addl"] or "", X_ADDL + 4, y, _yn(policy.additional_insured), 14)
    page.value(names["subr"] or "", X_SUBR + 4, y, _yn(policy.waiver_of_subrogation), 14)
    page.value(names["number"] or "", X_NUMBER, y, policy.number, 92)
    page.value(names["effective"] or "", X_EFF, y, _day(policy.effective), 52)
    page.value(names["expires"] or "", X_EXP, y, _day(policy.expires), 52)


def _draw(canvas: Canvas, spec: CertificateSpec, as_fields: bool) -> None:
    page = _Page(canvas, as_fields)
    page.label(170, 26, "CERTIFICATE OF LIABILITY INSURANCE", size=13)
    page.label(500, 26, "DATE (MM/DD/YYYY)")
    page.value("Form_CompletionDate_A", 500, 38, _day(spec.issued), 80)
    page.label(
        26,
        58,
        "THIS CERTIFICATE IS ISSUED AS A MATTER OF INFORMATION ONLY AND CONFERS NO RIGHTS UPON THE "
        "CERTIFICATE HOLDER.",
        size=5.5,
        bold=False,
    )
    page.rule(76)
    page.label(26, 84, "PRODUCER")
    _party(page, "Producer", spec.producer, 26, 96, 270)
    page.label(X_INSURERS, 84, "INSURER(S) AFFORDING COVERAGE")
    page.label(X_NAIC, 84, "NAIC #")
    for index, letter_ in enumerate("ABCDEF"):
        y = 96 + index * LINE
        page.label(X_INSURERS, y + 1, f"INSURER {letter_} :")
        insurer = next((i for i in spec.insurers if i.letter == letter_), None)
        if insurer is not None:
            page.value(f"Insurer_FullName_{letter_}", X_INSURERS + 46, y, insurer.name, 176)
            page.value(f"Insurer_NAICCode_{letter_}", X_NAIC, y, insurer.naic, 40)
    page.label(26, 140, "INSURED")
    _party(page, "NamedInsured", spec.insured, 26, 152, 270)
    page.rule(192)
    page.label(26, 198, "COVERAGES", size=8)
    for x, top, bottom in (
        (X_LTR, "INSR", "LTR"),
        (X_TYPE, "TYPE OF INSURANCE", ""),
        (X_ADDL, "ADDL", "INSD"),
        (X_SUBR, "SUBR", "WVD"),
        (X_NUMBER, "POLICY NUMBER", ""),
        (X_EFF, "POLICY EFF", "(MM/DD/YYYY)"),
        (X_EXP, "POLICY EXP", "(MM/DD/YYYY)"),
        (X_LIMIT, "LIMITS", ""),
    ):
        page.label(x, 216, top)
        if bottom:
            page.label(x, 224, bottom, size=5)
    page.rule(236)
    y = Y_TABLE
    for coverage, block in _BLOCKS.items():
        for index, text in enumerate(block.labels):
            page.label(X_TYPE, y + 1 + index * LINE, text, size=6)
        policy = next((p for p in spec.policies if p.coverage is coverage), None)
        names: dict[str, str | None] = {
            "letter": block.letter,
            "addl": block.addl,
            "subr": block.subr,
            "number": block.number,
            "effective": block.effective,
            "expires": block.expires,
        }
        if policy is not None:
            _policy_row(page, names, policy, y)
        for index, (kind, text, name) in enumerate(block.limits):
            page.label(X_LIMIT, y + 1 + index * LINE, text, size=5.5)
            if policy is not None and kind in policy.limits:
                amount = _amount(policy.limits[kind])
                page.value(
                    name,
                    X_AMOUNT_RIGHT - 70,
                    y + index * LINE,
                    amount if as_fields else f"${amount}",
                    70,
                    True,
                )
        y += block.lines * LINE + 3
    others = [p for p in spec.policies if p.coverage in _OTHER_TITLES]
    for row, policy in zip(OTHER_ROWS, others, strict=False):
        names = _other_fields(row)  # type: ignore[assignment]
        page.value(names["description"] or "", X_TYPE, y, _OTHER_TITLES[policy.coverage], 124)
        _policy_row(page, names, policy, y)
        for index, (kind, text) in enumerate(_OTHER_LIMITS):
            if kind in policy.limits:
                page.value(names[f"code_{index + 1}"] or "", X_LIMIT, y + index * LINE, text, 90)
                amount = _amount(policy.limits[kind])
                page.value(
                    names[f"limit_{index + 1}"] or "",
                    X_AMOUNT_RIGHT - 70,
                    y + index * LINE,
                    amount if as_fields else f"${amount}",
                    70,
                    True,
                )
        y += 2 * LINE + 3
    y = max(y, 470) + 6
    page.rule(y - 4)
    page.label(26, y, "DESCRIPTION OF OPERATIONS / LOCATIONS / VEHICLES")
    page.value("CertificateOfLiabilityInsurance_ACORDForm_RemarkText_A", 26, y + 12, spec.description, 556)
    page.rule(y + 36)
    page.label(26, y + 42, "CERTIFICATE HOLDER")
    page.label(X_RIGHT_HALF + 6, y + 42, "CANCELLATION")
    page.label(
        X_RIGHT_HALF + 6,
        y + 54,
        "SHOULD ANY OF THE ABOVE POLICIES BE CANCELLED BEFORE THE EXPIRATION",
        size=5,
        bold=False,
    )
    page.label(
        X_RIGHT_HALF + 6, y + 61, "DATE THEREOF, NOTICE WILL BE DELIVERED IN ACCORDANCE", size=5, bold=False
    )
    page.label(X_RIGHT_HALF + 6, y + 68, "WITH THE POLICY PROVISIONS.", size=5, bold=False)
    _party(page, "CertificateHolder", spec.holder, 26, y + 54, 270)
    page.label(26, 756, "ACORD 25 (2016/03)", size=7)


def _render(spec: CertificateSpec, as_fields: bool) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter, invariant=True)
    canvas.setTitle("ACORD 25 Certificate of Liability Insurance")
    _draw(canvas, spec, as_fields)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def fillable(spec: CertificateSpec) -> bytes:
    """An ACORD 25 whose values are in AcroForm text fields named as ACORD names them."""
    return _render(spec, as_fields=True)


def flattened(spec: CertificateSpec) -> bytes:
    """The same page with the values drawn as text: a text layer, no fields."""
    return _render(spec, as_fields=False)


def scanned(spec: CertificateSpec, angle: float = 0.6, seed: int = 7, dpi: int = 200) -> bytes:
    """The flattened page printed to a grey image, turned ``angle`` degrees and speckled, in a PDF that
    holds only that image (no text layer), as a scanner makes it."""
    return scan(flattened(spec), angle, seed, dpi)


def scan(pdf: bytes, angle: float = 0.6, seed: int = 7, dpi: int = 200) -> bytes:
    """Any PDF's pages as a scanner gives them back: grey images, turned a little, speckled, no text."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    speckles = random.Random(seed)
    images = []
    for page in document:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
        draw = ImageDraw.Draw(image)
        for _ in range(image.width * image.height // 4000):
            x, y = speckles.randrange(image.width), speckles.randrange(image.height)
            draw.point((x, y), fill=speckles.randrange(90, 200))
        images.append(image.filter(ImageFilter.GaussianBlur(0.4)))
    document.close()
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buffer.getvalue()


# ---- hostile files -------------------------------------------------------------------------------------


def encrypted(spec: CertificateSpec | None = None) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(flattened(spec or CertificateSpec()))))
    writer.encrypt(user_password="s3cret", owner_password="0wner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def corrupt() -> bytes:
    """A PDF header followed by half a certificate and then noise: no cross-reference, no trailer."""
    pdf = flattened(CertificateSpec())
    noise = random.Random(3).randbytes(4000)
    return pdf[:400] + noise


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file from numbered object bodies (1 0 obj is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@functools.cache
def _bomb_stream(inflated_mb: int) -> bytes:
    """A FlateDecode stream of spaces (a valid, if endless, content stream) that inflates to
    ``inflated_mb`` MB: about 4.6 KB per MB, so 1 GB fits in a 5 MB upload."""
    compressor = zlib.compressobj(1)
    chunk = b" " * (1024 * 1024)
    return b"".join(compressor.compress(chunk) for _ in range(inflated_mb)) + compressor.flush()


def zip_bomb(inflated_mb: int = 1024) -> bytes:
    """A one-page PDF whose content stream inflates to ``inflated_mb`` MB."""
    stream = _bomb_stream(inflated_mb)
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        ]
    )


def blank_scan() -> bytes:
    """An image-only page with nothing on it but a scanner's faint speckles."""
    image = Image.new("L", (1700, 2200), 250)
    speckles = random.Random(11)
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        draw.point((speckles.randrange(1700), speckles.randrange(2200)), fill=speckles.randrange(200, 240))
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=200)
    return buffer.getvalue()


def many_pages(count: int = 300) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter, invariant=True)
    for number in range(count):
        canvas.drawString(72, 720, f"Page {number + 1}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def zip_bomb_in_a_form(inflated_mb: int = 1024) -> bytes:
    """A zip bomb one step removed: the page's own content is small and draws a form XObject whose stream
    inflates to ``inflated_mb`` MB, which a reader only meets when it interprets the page."""
    stream = _bomb_stream(inflated_mb)
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /XObject << /Bomb 5 0 R >> >> >>",
            b"<< /Length 11 >>\nstream\n/Bomb Do   \nendstream",
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Length %d /Filter /FlateDecode >>"
            b"\nstream\n" % len(stream) + stream + b"\nendstream",
        ]
    )


# ---- reading back ---------------------------------------------------------------------------------------


def expected_fields(spec: CertificateSpec) -> dict[str, object]:
    """Every value the certificate shows, by a stable name ("general_liability.limit.each_occurrence")."""
    fields: dict[str, object] = {
        "issued": spec.issued,
        "producer.name": spec.producer.name,
        "producer.address": spec.producer.address,
        "insured.name": spec.insured.name,
        "insured.address": spec.insured.address,
        "certificate_holder.name": spec.holder.name,
        "certificate_holder.address": spec.holder.address,
        "description": spec.description,
    }
    for insurer in spec.insurers:
        fields[f"insurer.{insurer.letter}.name"] = insurer.name
        fields[f"insurer.{insurer.letter}.naic"] = insurer.naic
    for policy in spec.policies:
        key = policy.coverage.value
        fields |= {
            f"{key}.insurer_letter": policy.letter,
            f"{key}.policy_number": policy.number,
            f"{key}.effective": policy.effective,
            f"{key}.expires": policy.expires,
        }
        if policy.additional_insured is not None:
            fields[f"{key}.additional_insured"] = policy.additional_insured
        if policy.waiver_of_subrogation is not None:
            fields[f"{key}.waiver_of_subrogation"] = policy.waiver_of_subrogation
        for kind, amount in policy.limits.items():
            fields[f"{key}.limit.{kind.value}"] = amount
    return {name: value for name, value in fields.items() if value not in ("", None)}


def found_fields(parsed: ParsedCertificate) -> dict[str, object]:
    """What the reader found, by the same names; a field not found is left out."""
    reads: dict[str, Read[object]] = {
        "issued": parsed.issued,
        "producer.name": parsed.producer.name,
        "producer.address": parsed.producer.address,
        "insured.name": parsed.insured.name,
        "insured.address": parsed.insured.address,
        "certificate_holder.name": parsed.certificate_holder.name,
        "certificate_holder.address": parsed.certificate_holder.address,
        "description": parsed.description,
    }
    for insurer in parsed.insurers:
        reads[f"insurer.{insurer.letter}.name"] = insurer.name
        reads[f"insurer.{insurer.letter}.naic"] = insurer.naic
    for policy in parsed.policies:
        key = policy.coverage.value
        reads |= {
            f"{key}.insurer_letter": policy.insurer_letter,
            f"{key}.policy_number": policy.policy_number,
            f"{key}.effective": policy.effective,
            f"{key}.expires": policy.expires,
            f"{key}.additional_insured": policy.additional_insured,
            f"{key}.waiver_of_subrogation": policy.waiver_of_subrogation,
        }
        for kind, read in policy.limits.items():
            reads[f"{key}.limit.{kind.value}"] = read
    return {name: read.value for name, read in reads.items() if read.found}


def score(
    spec: CertificateSpec, parsed: ParsedCertificate
) -> tuple[int, int, dict[str, tuple[object, object]]]:
    """(fields read correctly, fields present, {field: (expected, found)} for each one missed or wrong)."""
    expected, found = expected_fields(spec), found_fields(parsed)
    wrong = {name: (value, found.get(name)) for name, value in expected.items() if found.get(name) != value}
    return len(expected) - len(wrong), len(expected), wrong


# ---- many different certificates (the benchmark's set) -------------------------------------------------

_PRODUCERS = (
    PartySpec("Bayside Risk Partners", "88 Harbor Way, Suite 300", "Oakland", "CA", "94607"),
    PartySpec("Keystone Insurance Agency Inc", "2200 Walnut St", "Philadelphia", "PA", "19103"),
    PartySpec("Lone Star Brokerage LLC", "915 Congress Ave", "Austin", "TX", "78701"),
    PartySpec("Cascade Coverage Group", "1201 3rd Ave, Floor 12", "Seattle", "WA", "98101"),
)
_INSUREDS = (
    PartySpec("Marisol Vega Studio LLC", "1417 Valencia St", "San Francisco", "CA", "94110"),
    PartySpec("Tomasz Kowalczyk", "77 Greenpoint Ave, Apt 4R", "Brooklyn", "NY", "11222"),
    PartySpec("Bright Path Electrical Services", "4030 Industrial Blvd", "Denver", "CO", "80216"),
    PartySpec("Amara Okafor Consulting", "250 Peachtree St NE", "Atlanta", "GA", "30303"),
    PartySpec("Northside Landscaping & Snow", "18 Birch Rd", "Duluth", "MN", "55803"),
)
_HOLDERS = (
    PartySpec("Acme Brands Inc", "500 Market St", "San Francisco", "CA", "94105"),
    PartySpec("Gigwork Marketplace Corp", "1 Main St, Suite 900", "Cambridge", "MA", "02142"),
    PartySpec("Fieldday Events LLC", "3300 Ocean Park Blvd", "Santa Monica", "CA", "90405"),
)
_INSURERS = (HARTFORD, TRAVELERS, ZURICH, FEDERAL, CONTINENTAL)
_AMOUNTS = (250_000, 300_000, 500_000, 1_000_000, 2_000_000, 3_000_000, 5_000_000)


def varied(seed: int) -> CertificateSpec:
    """A certificate whose names, insurers, amounts, dates, coverages and answers vary with ``seed``."""
    pick = random.Random(seed)
    issued = date(2025, 1, 1) + timedelta(days=pick.randrange(0, 730))
    effective = issued - timedelta(days=pick.randrange(0, 300))
    expires = effective + timedelta(days=pick.choice((182, 365, 365, 366)))
    insurers = pick.sample(_INSURERS, 3)
    letters = "ABC"

    def answer() -> bool | None:
        return pick.choice((True, True, False, None))

    def policy(coverage: CoverageKind, limits: dict[LimitKind, int], addl: bool = True) -> PolicySpec:
        number = f"{pick.choice(('GL', 'CA', 'UMB', 'WC', 'PL', 'CY', 'TB'))}-{pick.randrange(10**6, 10**8)}"
        return PolicySpec(
            coverage,
            pick.choice(letters),
            number,
            effective,
            expires,
            limits,
            answer() if addl else None,
            answer(),
        )

    occurrence = pick.choice(_AMOUNTS)
    policies = [
        policy(
            CoverageKind.GENERAL_LIABILITY,
            {
                LimitKind.EACH_OCCURRENCE: occurrence,
                LimitKind.DAMAGE_TO_RENTED_PREMISES: pick.choice((50_000, 100_000, 300_000)),
                LimitKind.MEDICAL_EXPENSE: pick.choice((5_000, 10_000)),
                LimitKind.PERSONAL_ADVERTISING_INJURY: occurrence,
                LimitKind.GENERAL_AGGREGATE: 2 * occurrence,
                LimitKind.PRODUCTS_COMPLETED_OPERATIONS: 2 * occurrence,
            },
        )
    ]
    if pick.random() < 0.6:
        policies.append(policy(CoverageKind.AUTO, {LimitKind.COMBINED_SINGLE_LIMIT: pick.choice(_AMOUNTS)}))
    if pick.random() < 0.4:
        amount = pick.choice(_AMOUNTS)
        policies.append(
            policy(CoverageKind.UMBRELLA, {LimitKind.EACH_OCCURRENCE: amount, LimitKind.AGGREGATE: amount})
        )
    if pick.random() < 0.7:
        el = pick.choice((500_000, 1_000_000))
        policies.append(
            policy(
                CoverageKind.WORKERS_COMP,
                {
                    LimitKind.EL_EACH_ACCIDENT: el,
                    LimitKind.EL_DISEASE_EACH_EMPLOYEE: el,
                    LimitKind.EL_DISEASE_POLICY_LIMIT: el,
                },
                addl=False,
            )
        )
    for coverage in pick.sample((CoverageKind.PROFESSIONAL, CoverageKind.CYBER), pick.randrange(0, 3)):
        amount = pick.choice(_AMOUNTS)
        policies.append(policy(coverage, {LimitKind.EACH_CLAIM: amount, LimitKind.AGGREGATE: 2 * amount}))
    return CertificateSpec(
        issued=issued,
        producer=pick.choice(_PRODUCERS),
        insured=pick.choice(_INSUREDS),
        insurers=tuple(
            InsurerSpec(letter, *insurer) for letter, insurer in zip(letters, insurers, strict=True)
        ),
        policies=tuple(policies),
        holder=pick.choice(_HOLDERS),
        description=pick.choice(
            (
                "Certificate holder is included as additional insured on general liability and auto.",
                "Re: spring campaign shoots. Waiver of subrogation applies where required by contract.",
                "All operations of the named insured.",
            )
        ),
    )
