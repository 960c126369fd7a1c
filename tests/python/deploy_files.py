"""Reading the deployment files the way their consumers do, for the tests.

A small Dockerfile reader (the final stage's ENV, EXPOSE, USER, HEALTHCHECK
and where each COPY puts a repository file), TOML and YAML loaders, and
compose's duration format. Used by test_entrypoint.py, which runs what the
images run, and test_deploy_files.py, which checks that the files agree.
"""

import json
import os
import re
import shlex
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKER = os.path.join(ROOT, "docker")
K8S = os.path.join(ROOT, "deploy", "k8s")


def path(*parts):
    return os.path.join(ROOT, *parts)


def read(*parts):
    with open(path(*parts), encoding="utf-8") as f:
        return f.read()


def load_toml(*parts):
    with open(path(*parts), "rb") as f:
        return tomllib.load(f)


def load_yaml(*parts):
    import yaml  # PyYAML: scripts/test-deps.sh installs it

    with open(path(*parts), encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_all(*parts):
    import yaml

    with open(path(*parts), encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def port_of(listen):
    """'0.0.0.0:5432' -> 5432."""
    return int(listen.rpartition(":")[2])


def seconds(duration):
    """Compose's and Docker's durations: '90s', '1m30s', '300ms' -> seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(float(n) * units[u] for n, u in parts)


class Dockerfile:
    """The final stage of a Dockerfile, as far as these tests need it."""

    def __init__(self, *parts):
        self.path = path(*parts)
        with open(self.path, encoding="utf-8") as f:
            self.instructions = _instructions(f.read())
        last_from = max(i for i, (op, _) in enumerate(self.instructions) if op == "FROM")
        self.args = {}
        for op, rest in self.instructions[:last_from]:
            if op == "ARG" and "=" in rest:
                key, _, value = rest.partition("=")
                self.args[key.strip()] = value.strip()
        self.base = self.instructions[last_from][1]
        self.env = {}
        self.expose = set()
        self.user = None
        self.healthcheck = None
        self.entrypoint = None
        self.copies = {}
        for op, rest in self.instructions[last_from + 1:]:
            if op == "ENV":
                for token in shlex.split(rest):
                    key, _, value = token.partition("=")
                    self.env[key] = value
            elif op == "EXPOSE":
                self.expose |= {int(p.split("/")[0]) for p in rest.split()}
            elif op == "USER":
                self.user = rest.strip()
            elif op == "HEALTHCHECK":
                self.healthcheck = _healthcheck(rest)
            elif op == "ENTRYPOINT":
                self.entrypoint = json.loads(rest)
            elif op == "COPY":
                self.copies.update(_copy_targets(rest))

    def repo_file(self, image_path):
        """The repository file that COPY put at image_path."""
        for dest, src in self.copies.items():
            if image_path == dest:
                return path(src)
            if image_path.startswith(dest.rstrip("/") + "/"):
                return path(src, image_path[len(dest.rstrip("/")) + 1:])
        raise KeyError(f"{self.path}: nothing is copied to {image_path}")


def _instructions(text):
    """[(INSTRUCTION, rest)] with continuation lines joined, comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        op, _, rest = current.partition(" ")
        out.append((op.upper(), rest.strip()))
        current = ""
    return out


def _healthcheck(rest):
    options, _, command = rest.partition("CMD")
    flags = dict(o[2:].split("=", 1) for o in options.split())
    return {"options": flags, "cmd": json.loads(command.strip())}


def _copy_targets(rest):
    """{image path: repository path} for a COPY from the build context."""
    words = shlex.split(rest)
    flags = [w for w in words if w.startswith("--")]
    if any(f.startswith("--from") for f in flags):
        return {}
    *sources, dest = [w for w in words if not w.startswith("--")]
    if dest.endswith("/"):
        return {dest + os.path.basename(s.rstrip("/")): s for s in sources}
    return {dest: sources[0]}
