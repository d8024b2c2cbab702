"""A single-node Apache Kafka broker (KRaft) from Maven Central's jars, for tests and ``finsent chaos``.

``make kafka`` resolves ``org.apache.kafka:kafka_2.13`` and its runtime dependencies with
``tests/kafka/pom.xml`` into ``kafka_jars_dir()``; this module runs them with the JVM on the
path. The broker listens on free loopback ports, keeps its log in its own folder (so it can be
stopped and started again on the same data) and does not create topics on demand: what finsent
needs, ``finsent topics create`` creates. Small heap and serial GC: it shares two cores with
the workers in the tests.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from finsent.dev.broker import ChildProcess, die_with_parent, free_port
from streams.exceptions import BrokerError
from streams.watchdog import reachable

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.4.0"
"""The version ``tests/kafka/pom.xml`` resolves (a test keeps the two and compose/ in step)."""

JVM_OPTIONS = ("-Xmx512m", "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true")
LOG4J_CONFIG = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
"""
# Sized for one node on two cores: few threads, few internal partitions, no first-join delay.
BASE_PROPERTIES = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "INTERNAL",
    "auto.create.topics.enable": "false",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "4",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "background.threads": "2",
    "num.recovery.threads.per.data.dir": "1",
    "log.cleaner.threads": "1",
}


def kafka_jars_dir() -> Path:
    """Where ``make kafka`` puts the broker's jars: ``FINSENT_KAFKA_JARS``, else a per-user cache."""
    configured = os.environ.get("FINSENT_KAFKA_JARS")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "finsent" / f"kafka-{KAFKA_VERSION}"


def missing_requirement(jars_dir: Path | None = None) -> str | None:
    """Why this machine cannot run the broker (one line), or None when it can."""
    jars = jars_dir or kafka_jars_dir()
    if shutil.which("java") is None:
        return "no `java` on the PATH (Apache Kafka needs Java 17 or later)"
    if jar_version(jars) is None:
        return f"Apache Kafka jars not found in {jars}: `make kafka` fetches them (needs Maven)"
    return None


def jar_version(jars_dir: Path) -> str | None:
    """The broker version of the ``kafka_2.13-<version>.jar`` in ``jars_dir``, or None without one."""
    pattern = re.compile(r"kafka_2\.13-(\d[\w.\-]*)\.jar")
    found = [m.group(1) for p in jars_dir.glob("kafka_2.13-*.jar") if (m := pattern.fullmatch(p.name))]
    return sorted(found)[-1] if found else None


@dataclass(frozen=True)
class ScramUser:
    """A SASL/SCRAM-SHA-256 user the broker is formatted with (clients must then authenticate)."""

    name: str
    password: str = field(repr=False)


@dataclass
class BrokerPorts:
    client: int = field(default_factory=free_port)
    internal: int = field(default_factory=free_port)
    controller: int = field(default_factory=free_port)


def new_cluster_id() -> str:
    """A random KRaft cluster id; never one starting with "-", which the storage tool reads as an option
    (Kafka's own ``Uuid.randomUuid`` skips those too)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class ApacheKafkaBroker(ChildProcess):
    """Start, stop and restart one KRaft broker+controller on loopback; use as a context manager.

    ``work_dir`` holds ``server.properties``, the log dir and ``broker.log``; without one a
    temporary folder is used and removed at exit. Restarts keep ports and data. ``stop`` is a
    controlled shutdown (SIGTERM flushes the log), SIGKILL after its timeout.
    """

    def __init__(
        self,
        jars_dir: Path | None = None,
        work_dir: Path | None = None,
        scram_user: ScramUser | None = None,
        log_level: str = "WARN",
    ) -> None:
        self.jars_dir = jars_dir or kafka_jars_dir()
        self.scram_user = scram_user
        self.log_level = log_level
        self.ports = BrokerPorts()
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        if work_dir is None:
            self._temp = tempfile.TemporaryDirectory(prefix="finsent-kafka-")
            work_dir = Path(self._temp.name)
        self.work_dir = work_dir
        self.log_file: Path = work_dir / "broker.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._formatted = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.client}"

    @property
    def version(self) -> str:
        return jar_version(self.jars_dir) or "unknown"

    def client_config(self) -> dict[str, Any]:
        """kafka-python keyword arguments for this broker (with its SCRAM user when it has one)."""
        config: dict[str, Any] = {"bootstrap_servers": [self.bootstrap]}
        if self.scram_user is not None:
            config.update(
                security_protocol="SASL_PLAINTEXT",
                sasl_mechanism="SCRAM-SHA-256",
                sasl_plain_username=self.scram_user.name,
                sasl_plain_password=self.scram_user.password,
            )
        return config

    def start(self, timeout_s: float = 90.0) -> ApacheKafkaBroker:
        """Start the broker (formatting its storage the first time) and wait until it answers."""
        reason = missing_requirement(self.jars_dir)
        if reason:
            raise BrokerError(reason)
        if not self._formatted:
            self._format()
        output = self.log_file.open("ab")
        self._process = subprocess.Popen(
            ["java", *self._jvm_options(), "-cp", self._classpath(), "kafka.Kafka", str(self._properties_file)],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        output.close()
        self._wait_until_answering(timeout_s)
        log.info("Apache Kafka %s listening on %s", self.version, self.bootstrap)
        return self

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def close(self) -> None:
        self.stop()
        if self._temp is not None:
            self._temp.cleanup()

    def __enter__(self) -> ApacheKafkaBroker:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def _properties_file(self) -> Path:
        return self.work_dir / "server.properties"

    def _classpath(self) -> str:
        return str(self.jars_dir / "*")

    def _jvm_options(self) -> list[str]:
        return [*JVM_OPTIONS, f"-Dlog4j2.configurationFile={self.work_dir / 'log4j2.properties'}"]

    def _format(self) -> None:
        """Write the configuration and format the log dir with a new cluster id (once per broker)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "log4j2.properties").write_text(
            LOG4J_CONFIG.format(log_file=self.log_file, level=self.log_level)
        )
        self._properties_file.write_text("".join(f"{k}={v}\n" for k, v in self._properties().items()))
        cluster_id = new_cluster_id()
        command = ["java", *self._jvm_options(), "-cp", self._classpath(), "kafka.tools.StorageTool", "format"]
        command += ["--cluster-id", cluster_id, "--config", str(self._properties_file)]
        if self.scram_user is not None:
            user = self.scram_user
            command += ["--add-scram", f"SCRAM-SHA-256=[name={user.name},password={user.password}]"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BrokerError(f"formatting the Kafka log dir failed: {last[0]}")
        self._formatted = True

    def _properties(self) -> dict[str, str]:
        ports, client_protocol = self.ports, "SASL_PLAINTEXT" if self.scram_user else "PLAINTEXT"
        properties = dict(BASE_PROPERTIES)
        properties.update(
            {
                "controller.quorum.voters": f"1@127.0.0.1:{ports.controller}",
                "listeners": f"CLIENT://127.0.0.1:{ports.client},INTERNAL://127.0.0.1:{ports.internal},"
                f"CONTROLLER://127.0.0.1:{ports.controller}",
                "advertised.listeners": f"CLIENT://127.0.0.1:{ports.client},INTERNAL://127.0.0.1:{ports.internal}",
                "listener.security.protocol.map": f"CLIENT:{client_protocol},INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs": str(self.work_dir / "data"),
            }
        )
        if self.scram_user is not None:
            properties["sasl.enabled.mechanisms"] = "SCRAM-SHA-256"
            properties["listener.name.client.scram-sha-256.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            )
        return properties

    def _wait_until_answering(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not (reachable(self.bootstrap, timeout_s=0.5) and self._answers()):
            if not self.alive():
                self._process = None
                raise BrokerError(f"Apache Kafka exited during start-up:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"Apache Kafka did not answer on {self.bootstrap} within {timeout_s:.0f}s")
            time.sleep(0.1)

    def _answers(self) -> bool:
        """Whether the broker serves metadata with itself as a registered (unfenced) broker."""
        from kafka.admin import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(**self.client_config(), request_timeout_ms=5_000, bootstrap_timeout_ms=5_000)
        except (KafkaError, OSError):
            return False
        try:
            return bool(admin.describe_cluster().get("brokers"))
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()


TOPIC_SUFFIXES = {
    "news_topic": "news",
    "social_topic": "social",
    "scores_topic": "scores",
    "deadletter_topic": "deadletter",
    "alert_inputs_topic": "alert-inputs",
    "alerts_topic": "alerts",
}


def own_topics(prefix: str) -> dict[str, str]:
    """``Settings`` fields for a topic set of its own (``<prefix>.news``, ...): runs sharing a broker stay apart."""
    return {field_name: f"{prefix}.{suffix}" for field_name, suffix in TOPIC_SUFFIXES.items()}


def topics_env(topics: dict[str, str]) -> dict[str, str]:
    """The same topic names as ``FINSENT_*`` environment variables, for worker processes."""
    return {f"FINSENT_{field_name.upper()}": name for field_name, name in topics.items()}
