"""`needradar feedback ...`: the feedback text models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import console, emit_json, settings

app = typer.Typer(help="Classify feedback and ticket texts: class and sentiment.", no_args_is_help=True)


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file with texts in feedback/tickets.")],
    label_col: Annotated[str, typer.Option(help="The label column: text_class or text_sentiment.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the evaluation as JSON.")] = False,
) -> None:
    """Train the text model on the labelled texts, compare it out of sample with a majority-class and a
    keyword baseline (macro F1), log the run in MLflow and register the model."""
    from experiments.feedback_experiment import train_and_register
    from needradar.commands.features import load

    with console.status("training the text model"):
        outcome = train_and_register(load(data), label_col, settings())
    if as_json:
        emit_json(outcome.to_dict())
        return
    f1 = outcome.macro_f1
    console.print(
        f"{label_col}: macro F1 {f1['model']:.3f} "
        f"(majority {f1['majority']:.3f}, keywords {f1['keywords']:.3f}) "
        f"on the newest {outcome.test_rows} of {outcome.train_rows + outcome.test_rows} texts"
    )
    role = "champion" if outcome.champion else "challenger"
    console.print(f"registered {outcome.model_name} version {outcome.version} as {role}")
