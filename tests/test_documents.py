"""Certificates and bills are real PDFs: they open, say the right things, render, and are served by link."""

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import font_roboto
import httpx
import pypdfium2
import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.documents import DocumentActivities
from common.settings import Settings
from contracts.delivery import BillLine, BillRequest
from documents.certificate import CertificateOfInsurance, Party, render_certificates
from documents.fonts import STYLES, cut_font, is_latin
from documents.storage import LocalFolderStore
from domain.coverage import CoverageType
from tests.support import Org, contractor_fields, entity_fields, job_fields


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _renders(pdf: bytes) -> None:
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=1).to_pil()
    assert image.size[0] > 500 and image.getextrema() != ((255, 255), (255, 255), (255, 255))  # not blank


def _bound_policy(http: httpx.Client, coverage: list[str]) -> dict[str, object]:
    entity = http.post(
        "/entities",
        json=entity_fields(
            address={
                "line1": "500 Market St",
                "locality": "San Francisco",
                "region": "CA",
                "postalcode": "94105",
            }
        ),
    ).json()
    contractor = http.post(
        "/contractors", json=contractor_fields(first_name="Zoë", company_name="Zoë Doe Studio")
    ).json()
    job = http.post("/jobs", json=job_fields(entity["id"])).json()
    quote = http.post(
        "/quotes", json={"contractor": contractor["id"], "job": job["id"], "coverage_type": coverage}
    ).json()
    return dict(http.post("/policies", json={"quote": quote["id"]}).json())


def test_binding_a_policy_issues_a_certificate_per_coverage(api_url: str, org: Org) -> None:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        policy = _bound_policy(http, ["general", "workers-comp"])
    certificates = policy["certificates"]
    assert isinstance(certificates, dict)
    gl = httpx.get(certificates["gl_coi_pdf_url"])  # no API key: the link is the capability
    wc = httpx.get(certificates["wc_coi_pdf_url"])
    assert gl.headers["content-type"] == "application/pdf" and wc.status_code == 200
    gl_text, wc_text = _text(gl.content), _text(wc.content)
    for expected in (
        "Certificate of General Liability Insurance",
        "Zoë Doe (Zoë Doe Studio)",
        "Acme Brands",
        f"{policy['id']}-GL",
        "$1,000,000.00",
        "$2,000,000.00",
        "Spokesperson / Influencer",
        "gigcover Insurance Services",
        "SANDBOX",
    ):
        assert expected in gl_text, expected
    for expected in (
        "Certificate of Workers' Compensation Insurance",
        f"{policy['id']}-WC",
        "Statutory limits, CA",
    ):
        assert expected in wc_text, expected
    _renders(gl.content)
    both = httpx.get(str(policy["pdf_url"]))
    assert len(PdfReader(io.BytesIO(both.content)).pages) == 2


def test_document_links_are_unguessable_and_exact(api_url: str, org: Org) -> None:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        policy = _bound_policy(http, ["general"])
    url = str(policy["certificates"]["gl_coi_pdf_url"])  # type: ignore[index]
    assert policy["pdf_url"] == url  # one coverage: all the certificates together are that one
    token = url.split("/files/")[1].split("/")[0]
    assert len(token) >= 32
    assert httpx.get(url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))).status_code == 404
    assert httpx.get(url.rsplit("/", 1)[0] + "/other.pdf").status_code == 404


def test_bills_are_issued_with_terms_po_and_line_items(
    session_factory: sessionmaker[Session], settings: Settings, api_url: str, org: Org
) -> None:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        http.put(
            "/organization",
            json={"billing_contact_name": "Pat Payables", "billing_contact_email": "ap@platform.example"},
            auth=(org.production_key, ""),  # organization-wide: production's to change
        )
        entity = http.post("/entities", json=entity_fields()).json()
        contractor = http.post("/contractors", json=contractor_fields()).json()
        job = http.post(
            "/jobs", json=job_fields(entity["id"], custom_metadata={"purchase_order_number": "PO-2231"})
        ).json()
        request = BillRequest(
            bill_id="bl_testbill00000001",
            organization_id=org.id,
            environment="sandbox",
            contractor_id=contractor["id"],
            job_id=job["id"],
            lines=[
                BillLine(description="Premium: Jane Doe, Spring campaign", amount=3125),
                BillLine(description="Adjustment: final pay", amount=875),
            ],
        )
        activity = DocumentActivities(session_factory, settings).issue_bill
        issued = ActivityEnvironment().run(activity, request)
        assert ActivityEnvironment().run(activity, request) == issued  # retried: the same bill
        bill = http.get(f"/bills/{issued.bill_id}").json()
        assert [b["id"] for b in http.get("/bills").json()] == [issued.bill_id]
    assert (bill["amount_due"], bill["purchase_order_number"], bill["po_contact_email"]) == (
        4000,
        "PO-2231",
        "ap@platform.example",
    )
    assert bill["due_date"] - bill["bill_date"] == 30 * 86_400
    pdf = httpx.get(bill["pdf_url"]).content
    text = _text(pdf)
    for expected in (
        "Insurance Premium Bill",
        "Test Platform",
        "Attn: Pat Payables",
        "PO-2231",
        "$31.25",
        "$8.75",
        "$40.00",
        "due within 30 days",
    ):
        assert expected in text, expected
    _renders(pdf)


def test_the_store_refuses_keys_outside_its_folder(tmp_path: object) -> None:
    store = LocalFolderStore(tmp_path)  # type: ignore[arg-type]
    store.put("org_1/doc.pdf", b"%PDF")
    assert store.get("org_1/doc.pdf") == b"%PDF"
    with pytest.raises(ValueError, match="escapes"):
        store.get("../../etc/passwd")


def _certificate(insured: str) -> CertificateOfInsurance:
    return CertificateOfInsurance(
        certificate_number="pl_test-GL-1",
        policy_id="pl_test",
        coverage=CoverageType.GENERAL,
        insured=Party(insured, ("1 Market St", "San Francisco, CA 94105")),
        holder=Party("Acme Brands", ("500 Market St",)),
        effective_date=1_800_000_000,
        expiration_date=1_810_000_000,
        job_category="Spokesperson / Influencer",
        description_of_operations="Spring campaign: three sponsored posts",
        work_state="CA",
        occurrence_limit=100_000_000,
        aggregate_limit=200_000_000,
        issued_at=1_800_000_000,
        sandbox=True,
    )


def _fonts_used(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("insured", "fallback"),
    [
        ("Zoë Łukasz-Straße Ștefan Ødegård", False),  # the Latin cut, regular and bold
        ("Νίκος Παπαδόπουλος", True),  # and the other cut for what the Latin one lacks
        ("Дмитрий Иванов", True),
        ("Nguyễn Văn Ánh", True),
    ],
)
def test_names_in_any_script_roboto_has_render_and_read_back(insured: str, fallback: bool) -> None:
    pdf = render_certificates([_certificate(insured)])
    assert insured in _text(pdf)
    assert (_fonts_used(pdf) > 2) is fallback
    _renders(pdf)


def test_the_cuts_are_robotos_characters_split_at_the_latin_ones() -> None:
    """Fails when font-roboto changes: run ``python -m documents.fonts`` and commit the new cuts."""
    for style, name in STYLES.items():
        whole = set(TTFont(Path(font_roboto.__file__).parent / "files" / f"Roboto-{name}.ttf").getBestCmap())
        latin = set(TTFont(cut_font(style, latin=True)).getBestCmap())
        other = set(TTFont(cut_font(style, latin=False)).getBestCmap())
        assert latin == {u for u in whole if is_latin(u)} and other == whole - latin


def test_certificates_render_side_by_side_in_threads() -> None:
    """The worker renders in many activity threads at once, all from the same prepared fonts."""
    names = ["Jane Doe", "Νίκος Παπαδόπουλος", "Zoë Doe", "Дмитрий Иванов"] * 6
    with ThreadPoolExecutor(max_workers=8) as pool:
        pdfs = list(pool.map(lambda name: render_certificates([_certificate(name)]), names))
    for name, pdf in zip(names, pdfs, strict=True):
        assert name in _text(pdf)
