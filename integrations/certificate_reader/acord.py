"""What an ACORD 25 (2016/03) says and where: its coverage blocks, their limit lines and the names of its
fillable fields. The field names are ACORD's (the published fillable form's, less the ``F[0].P1[0].``
prefix and ``[0]`` suffix of its XFA hierarchy); the "OTHER" rows' names take the row (_A, _B) as suffix."""

from dataclasses import dataclass

from domain.certificates import CoverageKind, LimitKind


@dataclass(frozen=True)
class LimitLine:
    kind: LimitKind
    label: str  # the words printed on the form that start the line (enough of them to tell lines apart)
    field: str  # the fillable form's field


@dataclass(frozen=True)
class Block:
    """One coverage block of the COVERAGES table."""

    coverage: CoverageKind
    label: str  # printed in the TYPE OF INSURANCE column, first line
    letter: str
    number: str
    effective: str
    expires: str
    additional_insured: str | None  # workers' comp has no ADDL INSD box
    waiver: str
    limits: tuple[LimitLine, ...]


BLOCKS = (
    Block(
        CoverageKind.GENERAL_LIABILITY,
        "COMMERCIAL GENERAL LIABILITY",
        "GeneralLiability_InsurerLetterCode_A",
        "Policy_GeneralLiability_PolicyNumberIdentifier_A",
        "Policy_GeneralLiability_EffectiveDate_A",
        "Policy_GeneralLiability_ExpirationDate_A",
        "CertificateOfInsurance_GeneralLiability_AdditionalInsuredCode_A",
        "Policy_GeneralLiability_SubrogationWaivedCode_A",
        (
            LimitLine(
                LimitKind.EACH_OCCURRENCE, "EACH OCCURRENCE", "GeneralLiability_EachOccurrence_LimitAmount_A"
            ),
            LimitLine(
                LimitKind.DAMAGE_TO_RENTED_PREMISES,
                "DAMAGE TO RENTED",
                "GeneralLiability_FireDamageRentedPremises_EachOccurrenceLimitAmount_A",
            ),
            LimitLine(
                LimitKind.MEDICAL_EXPENSE,
                "MED EXP",
                "GeneralLiability_MedicalExpense_EachPersonLimitAmount_A",
            ),
            LimitLine(
                LimitKind.PERSONAL_ADVERTISING_INJURY,
                "PERSONAL",
                "GeneralLiability_PersonalAndAdvertisingInjury_LimitAmount_A",
            ),
            LimitLine(
                LimitKind.GENERAL_AGGREGATE,
                "GENERAL AGGREGATE",
                "GeneralLiability_GeneralAggregate_LimitAmount_A",
            ),
            LimitLine(
                LimitKind.PRODUCTS_COMPLETED_OPERATIONS,
                "PRODUCTS",
                "GeneralLiability_ProductsAndCompletedOperations_AggregateLimitAmount_A",
            ),
        ),
    ),
    Block(
        CoverageKind.AUTO,
        "AUTOMOBILE LIABILITY",
        "Vehicle_InsurerLetterCode_A",
        "Policy_AutomobileLiability_PolicyNumberIdentifier_A",
        "Policy_AutomobileLiability_EffectiveDate_A",
        "Policy_AutomobileLiability_ExpirationDate_A",
        "CertificateOfInsurance_AutomobileLiability_AdditionalInsuredCode_A",
        "Policy_AutomobileLiability_SubrogationWaivedCode_A",
        (
            LimitLine(
                LimitKind.COMBINED_SINGLE_LIMIT,
                "COMBINED SINGLE",
                "Vehicle_CombinedSingleLimit_EachAccidentAmount_A",
            ),
            LimitLine(
                LimitKind.BODILY_INJURY_PER_PERSON,
                "BODILY INJURY PER PERSON",
                "Vehicle_BodilyInjury_PerPersonLimitAmount_A",
            ),
            LimitLine(
                LimitKind.BODILY_INJURY_PER_ACCIDENT,
                "BODILY INJURY PER ACCIDENT",
                "Vehicle_BodilyInjury_PerAccidentLimitAmount_A",
            ),
            LimitLine(
                LimitKind.PROPERTY_DAMAGE,
                "PROPERTY DAMAGE",
                "Vehicle_PropertyDamage_PerAccidentLimitAmount_A",
            ),
        ),
    ),
    Block(
        CoverageKind.UMBRELLA,
        "UMBRELLA LIAB",
        "ExcessUmbrella_InsurerLetterCode_A",
        "Policy_ExcessLiability_PolicyNumberIdentifier_A",
        "Policy_ExcessLiability_EffectiveDate_A",
        "Policy_ExcessLiability_ExpirationDate_A",
        "CertificateOfInsurance_ExcessLiability_AdditionalInsuredCode_A",
        "Policy_ExcessLiability_SubrogationWaivedCode_A",
        (
            LimitLine(
                LimitKind.EACH_OCCURRENCE, "EACH OCCURRENCE", "ExcessUmbrella_Umbrella_EachOccurrenceAmount_A"
            ),
            LimitLine(LimitKind.AGGREGATE, "AGGREGATE", "ExcessUmbrella_Umbrella_AggregateAmount_A"),
        ),
    ),
    Block(
        CoverageKind.WORKERS_COMP,
        "WORKERS COMPENSATION",
        "WorkersCompensationEmployersLiability_InsurerLetterCode_A",
        "Policy_WorkersCompensationAndEmployersLiability_PolicyNumberIdentifier_A",
        "Policy_WorkersCompensationAndEmployersLiability_EffectiveDate_A",
        "Policy_WorkersCompensationAndEmployersLiability_ExpirationDate_A",
        None,
        "Policy_WorkersCompensation_SubrogationWaivedCode_A",
        (
            LimitLine(
                LimitKind.EL_EACH_ACCIDENT,
                "EL EACH ACCIDENT",
                "WorkersCompensationEmployersLiability_EmployersLiability_EachAccidentLimitAmount_A",
            ),
            LimitLine(
                LimitKind.EL_DISEASE_EACH_EMPLOYEE,
                "EL DISEASE EA EMPLOYEE",
                "WorkersCompensationEmployersLiability_EmployersLiability_DiseaseEachEmployeeLimitAmount_A",
            ),
            LimitLine(
                LimitKind.EL_DISEASE_POLICY_LIMIT,
                "EL DISEASE POLICY LIMIT",
                "WorkersCompensationEmployersLiability_EmployersLiability_DiseasePolicyLimitAmount_A",
            ),
        ),
    ),
)

# The "OTHER" rows: the coverage is named in words; their limits are typed in with their names.
OTHER_ROWS = ("A", "B")
OTHER_LIMIT_NAMES: tuple[tuple[str, LimitKind], ...] = (
    ("EACH CLAIM", LimitKind.EACH_CLAIM),
    ("PER CLAIM", LimitKind.EACH_CLAIM),
    ("EACH OCCURRENCE", LimitKind.EACH_OCCURRENCE),
    ("AGGREGATE", LimitKind.AGGREGATE),
)
OTHER_KEYWORDS: tuple[tuple[str, CoverageKind], ...] = (
    ("CYBER", CoverageKind.CYBER),
    ("NETWORK", CoverageKind.CYBER),
    ("PRIVACY", CoverageKind.CYBER),
    ("PROFESSIONAL", CoverageKind.PROFESSIONAL),
    ("ERRORS", CoverageKind.PROFESSIONAL),
    ("E&O", CoverageKind.PROFESSIONAL),
    ("EO", CoverageKind.PROFESSIONAL),
    ("UMBRELLA", CoverageKind.UMBRELLA),
    ("EXCESS", CoverageKind.UMBRELLA),
)


def other_coverage(description: str) -> CoverageKind | None:
    """The coverage an "OTHER" row names ("Professional Liability (E&O)", "Cyber Liability"), if any."""
    words = description.upper().replace("/", " ").replace("(", " ").replace(")", " ").split()
    for keyword, kind in OTHER_KEYWORDS:
        if keyword in words:
            return kind
    return None


def other_fields(row: str) -> dict[str, str]:
    return {
        "letter": f"OtherPolicy_InsurerLetterCode_{row}",
        "description": f"OtherPolicy_OtherPolicyDescription_{row}",
        "number": f"OtherPolicy_PolicyNumberIdentifier_{row}",
        "effective": f"OtherPolicy_PolicyEffectiveDate_{row}",
        "expires": f"OtherPolicy_PolicyExpirationDate_{row}",
        "additional_insured": f"CertificateOfInsurance_OtherPolicy_AdditionalInsuredCode_{row}",
        "waiver": f"Policy_OtherPolicy_SubrogationWaivedCode_{row}",
        "code_1": f"OtherPolicy_CoverageCode_{row}",
        "limit_1": f"OtherPolicy_CoverageLimitAmount_{row}",
        "code_2": f"OtherPolicy_SecondCoverageCode_{row}",
        "limit_2": f"OtherPolicy_SecondCoverageLimitAmount_{row}",
    }


PARTIES = {"producer": "Producer", "insured": "NamedInsured", "certificate_holder": "CertificateHolder"}
INSURER_LETTERS = "ABCDEF"
DATE_FIELD = "Form_CompletionDate_A"
DESCRIPTION_FIELD = "CertificateOfLiabilityInsurance_ACORDForm_RemarkText_A"
