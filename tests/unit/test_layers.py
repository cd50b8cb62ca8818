"""The package layering of pyproject.toml's [tool.importlinter] holds: import-linter's own CLI checks it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")  # installed with the dev extras


def lint_imports(*config: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the given config files (default: pyproject.toml), from the project's root."""
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo", *map(str, config)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_contract_of_pyproject_holds() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_cover_the_layering() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    kinds = {contract["type"] for contract in contracts}
    assert {"forbidden", "layers", "acyclic_siblings"} <= kinds
    forbidden = [set(contract["source_modules"]) for contract in contracts if contract["type"] == "forbidden"]
    assert any({"routing", "prompts"} <= sources for sources in forbidden), "routing and prompts: stdlib only"
    protected = {tuple(c["allowed_importers"]) for c in contracts if c["type"] == "protected"}
    domains = ("calls", "queueing", "quality", "surveys", "configuration", "work_orders", "customers")
    assert {(f"ivr.{domain}",) for domain in (*domains, "events")} <= protected, "each keeps its own modules"


def lint_one_contract(tmp_path: Path, contract: str) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on a config holding only the given contract (TOML lines) over `ivr`."""
    config = tmp_path / "one_contract.toml"
    header = '[tool.importlinter]\nroot_packages = ["ivr"]\n\n[[tool.importlinter.contracts]]\n'
    config.write_text(header + contract)
    return lint_imports(config)


def test_a_broken_contract_fails_the_check(tmp_path: Path) -> None:
    # The simulator's factory reads the settings: a contract forbidding that must be reported broken.
    result = lint_one_contract(
        tmp_path,
        'name = "telephony without settings"\ntype = "forbidden"\n'
        'source_modules = ["ivr.telephony.factory"]\nforbidden_modules = ["ivr.config"]\n',
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "telephony without settings BROKEN" in result.stdout


def test_reaching_into_another_package_s_own_module_is_reported(tmp_path: Path) -> None:
    # The event store's compiled statements are its own: a contract saying only calls may import them breaks.
    result = lint_one_contract(
        tmp_path,
        'name = "statements for calls only"\ntype = "protected"\n'
        'protected_modules = ["ivr.events.statements"]\nallowed_importers = ["ivr.calls"]\n',
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "statements for calls only BROKEN" in result.stdout
