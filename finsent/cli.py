"""The ``finsent`` command: the root group, ``config`` and ``schemas``; each other group has its own module.

=================  ==============================================================
module             commands
=================  ==============================================================
service_cli        demo, worker, chaos
feed_cli           replay, generate
training_cli       train, distill, ship, eval
data_cli           data synthetic
query_cli          query sentiment|alerts|documents|movers|dead-letters|symbols|topics
learning_cli       label, retrain, models …, query labels|review|drift|shadow
alerts_cli         alerts rules …, alerts subscribe|subscriptions|unsubscribe
api_cli            api, api-key create|list|revoke
bench_cli          bench model|windows|pipeline|soak
=================  ==============================================================

Errors travel as ``FinsentError`` to the root group, which prints one line and exits with the
error's own status (the table in the README).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from config import Settings
from config.routes import format_routes
from config.settings import mask_url
from finsent.clisupport import FinsentGroup, settings_for_cli


@click.group(cls=FinsentGroup)
@click.version_option(package_name="finsent")
@click.option("--verbose", "-v", is_flag=True, help="show tracebacks on errors (also FINSENT_LOG_LEVEL=DEBUG)")
def main(verbose: bool) -> None:
    """finsent: streaming financial sentiment (Kafka → Faust → transformers → ClickHouse)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@main.command()
def config() -> None:
    """Print the effective configuration: values resolved as the commands resolve them, secrets masked."""
    click.echo(json.dumps(resolved_view(settings_for_cli()), indent=2, default=str))


def resolved_view(settings: Settings) -> dict[str, object]:
    """``Settings.public_view`` with the values left unset filled in as finsent resolves them at run time."""
    from learning.serving import configured_model_name, routes_in_force

    view = settings.public_view()
    view["data_dir"] = str(settings.data_dir.expanduser().resolve())
    if settings.store_url is None:  # the embedded chdb path; a configured URL stays as public_view masked it
        view["store_url"] = mask_url(settings.resolved_store_url)
    view["model"] = configured_model_name(settings.classifier)
    view["routes"] = format_routes(routes_in_force(settings.routing, settings.classifier))
    view["model_registry_dir"] = str(settings.learning.registry_dir.expanduser().resolve())
    view["alert_rules_file"] = str(settings.rules_file.expanduser().resolve())
    if settings.kafka_bootstrap is None:
        view["kafka_bootstrap"] = "embedded: `finsent worker` starts an in-memory broker and logs its address"
    if settings.web_port is None:
        view["web_port"] = "a free port, chosen by each worker at start-up"
    return view


@main.group()
def schemas() -> None:
    """Wire and table contracts."""


@schemas.command(name="export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas/json"))
def schemas_export(out_dir: Path) -> None:
    """Write the JSON Schema of every message type and the ClickHouse DDL into OUT_DIR."""
    from schemas.export import export_schemas
    from storage.tables import ddl_statements

    written = export_schemas(out_dir)
    sql = out_dir / "clickhouse.sql"
    sql.write_text(";\n\n".join(ddl_statements()) + ";\n")
    written.append(sql)
    click.echo(json.dumps({"written": [str(p) for p in written]}))


def _register_subcommands() -> None:
    from finsent import (
        alerts_cli,
        api_cli,
        bench_cli,
        data_cli,
        feed_cli,
        learning_cli,
        query_cli,
        service_cli,
        topics_cli,
        training_cli,
    )

    commands = [
        service_cli.demo, service_cli.worker, service_cli.chaos, feed_cli.replay, feed_cli.generate,
        training_cli.train, training_cli.distill, training_cli.ship, training_cli.evaluate,
        query_cli.query, bench_cli.bench, alerts_cli.alerts, api_cli.api, api_cli.api_key,
        learning_cli.label, learning_cli.retrain, learning_cli.models_group, topics_cli.topics,
        data_cli.data,
    ]  # fmt: skip
    for command in commands:
        main.add_command(command)
    for command in (learning_cli.query_labels, learning_cli.query_review, learning_cli.query_drift,
                    learning_cli.query_shadow):  # fmt: skip
        query_cli.query.add_command(command)


_register_subcommands()

if __name__ == "__main__":
    main()
