"""`ovcf predict`: one patient's fracture probability with its 95% CI from a JSON model file (DESIGN §4)."""

from __future__ import annotations

import argparse

from ovcf_core.cli.common import add_json_file, add_model_file, add_prevalence

# option -> model variable; a model uses some of these, and each it uses must be given
VARIABLE_OPTIONS = {
    "vbq": "vbq",
    "hu": "hu",
    "t_score": "t_score",
    "rcsa": "rcsa",
    "fi": "fi",
    "age": "age",
    "sex": "sex",
    "bmi": "bmi",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the model file, the patient's variables, the prevalence and the JSON output.

    The variables are taken as text: the model checks each it uses, naming the variable and its range.
    """
    add_model_file(parser, "a model file from `ovcf train` (default: the shipped synthetic model)")
    parser.add_argument("--vbq", metavar="X", help="VBQ score (ratio)")
    parser.add_argument("--hu", metavar="Y", help="average HU of the unfractured L1-L4 vertebrae")
    parser.add_argument(
        "--t-score", dest="t_score", metavar="T", help="average T-score (if the model uses it)"
    )
    parser.add_argument("--rcsa", metavar="R", help="average total rCSA (if the model uses it)")
    parser.add_argument("--fi", metavar="F", help="average fat infiltration, %% (if the model uses it)")
    parser.add_argument("--age", metavar="A", help="age, years")
    parser.add_argument("--sex", metavar="F|M", help="sex, F or M")
    parser.add_argument("--bmi", metavar="B", help="BMI, kg/m²")
    add_prevalence(
        parser, "prevalence to correct to, a fraction (e.g. 0.10); default: none (the training case fraction)"
    )
    add_json_file(parser, "write the result as JSON ('-' = stdout)")


def run(args: argparse.Namespace) -> int:
    """Load the model (JSON only), check the inputs, predict, and print or write the result.

    Raises
    ------
    InputError
        When the model file cannot be read or checked, or a variable the model uses is missing, not a
        number or outside its plausible range (see `RiskModel.predict`).
    """
    from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE, paths
    from ovcf_core.cli.common import write_json
    from ovcf_core.model import load_model

    model = load_model(args.model or paths.DEFAULT_MODEL)
    patient = {variable: getattr(args, option) for option, variable in VARIABLE_OPTIONS.items()}
    prediction = model.predict(
        {k: v for k, v in patient.items() if v is not None}, prevalence=args.prevalence
    )
    if args.json:
        write_json(prediction.to_dict(), args.json)
        return 0
    print(prediction.headline())  # outside the model's data: no point estimate, the bound at its edge
    for warning in prediction.warnings:
        print(f"warning: {warning}")
    if model.is_synthetic:
        print(f"Model trained on synthetic data. {SYNTHETIC_NOTE}")
    print(RESEARCH_NOTE)
    return 0
