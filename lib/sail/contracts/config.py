"""Cross-field rules of ``config/config.yaml`` that the JSON schema cannot express.

The Snakefile runs :func:`check_config` right after the schema, when the workflow loads, so a value
that would fail a job minutes later (a group size that does not divide K, a price instance that
``data/prices.csv`` does not hold, a profile batch that does not divide the largest, a sensitivity
key the hardware description does not have, a hardware description with a typo) fails before any
job runs. Every problem is reported at once, each with its path in the config.
"""

from __future__ import annotations

from pathlib import Path

from sail.contracts import ContractError, did_you_mean


class ConfigError(ContractError):
    """The configuration breaks a cross-field rule; the message lists every problem with its path."""


def _k_values(model: str) -> list[int]:
    """Input widths K of the model's linear layers in the blocks (the quantised and profiled layers)."""
    from sail.sim.models import get_model

    return sorted({k for t, _, k, _ in get_model(model).gemv_layers() if t != "lm_head"})


def _group_problems(where: str, group_size: int, model: str) -> list[str]:
    if group_size == -1:  # per-channel: one group of K
        return []
    bad = [k for k in _k_values(model) if k % group_size]
    return [f"{where}: group size {group_size} does not divide K={bad[0]} of {model} (K values {_k_values(model)})"] if bad else []


def _check_quant(q: dict, model: str, where: str) -> list[str]:
    out = []
    for i, row in enumerate(q["weight_rows"]):
        for g in row["group_sizes"]:
            out += _group_problems(f"{where}.weight_rows[{i}].group_sizes", g, model)
    out += _group_problems(f"{where}.mixed.group_size", q["mixed"]["group_size"], model)
    return out


def _check_kernels(kc: dict, model: str, where: str) -> list[str]:
    out = _group_problems(f"{where}.e2e.group_size", kc["e2e"]["group_size"], model)
    g = kc["bench"]["group_size"]
    for m, k in list(kc["bench"]["shapes"]) + list(kc["bench"].get("batch_shapes", [])):
        if k % g or g % 8:
            out.append(f"{where}.bench.group_size: {g} must be a multiple of 8 dividing K of every shape; shape {m}x{k}")
    return out


def _check_profile(p: dict, where: str) -> list[str]:
    from sail.profile import ProfileGrid

    try:
        grid = ProfileGrid.from_params(p)
    except ValueError as err:
        return [f"{where}: {err}"]
    out = []
    if p["n_windows"] < max(grid.batches):
        out.append(f"{where}.n_windows: {p['n_windows']} sequences cannot fill the largest batch {max(grid.batches)}")
    plot = p["plot"]
    if not any(n == plot["n_bw"] and a == plot["a_bits"] for n, a, _ in grid.points):
        out.append(f"{where}.plot: n_bw={plot['n_bw']}, a_bits={plot['a_bits']} is not a profiled point")
    if plot["batch"] not in grid.batches:
        out.append(f"{where}.plot.batch: {plot['batch']} is not among the profiled batches {list(grid.batches)}")
    return out


def _load_hw(hw_dir: Path, stem: str, where: str, out: list):
    from sail.sim.hw import load_hw

    path = hw_dir / f"{stem}.yaml"
    if not path.exists():  # no rule writes hardware descriptions: a missing one is a config error
        known = sorted(p.stem for p in hw_dir.glob("*.yaml"))
        out.append(f"{where}: no hardware description config/hw/{stem}.yaml for {stem!r}"
                   f"{did_you_mean(stem, known)}; known: {known}")
        return None
    try:
        return load_hw(path)
    except ValueError as err:
        out.append(f"{where}: {err}")
        return None


def _check_sim(s: dict, profile: dict, hw_dir: Path, where: str) -> list[str]:
    from sail.profile import ProfileGrid
    from sail.sim.api import check_workload
    from sail.sim.hw import check_values
    from sail.sim.models import MODELS

    out: list[str] = []
    for m in s["models"] + [s["prt_model"], s["ablation_workload"]["model"]]:
        if m not in MODELS:
            out.append(f"{where}: unknown model {m!r}{did_you_mean(m, MODELS)}; known: {sorted(MODELS)}")
    hws = {stem: _load_hw(hw_dir, stem, f"{where}.hw", out) for stem in s["hw"]}
    for key in ("cpu_hw", "sail_hw", "calib_hw"):
        if s[key] not in hws:
            hws[s[key]] = _load_hw(hw_dir, s[key], f"{where}.{key}", out)
    for stem in s.get("energy_hw", []):
        if stem not in hws:
            hws[stem] = _load_hw(hw_dir, stem, f"{where}.energy_hw", out)
    for key in ("cpu_hw", "sail_hw"):
        if s[key] not in s["hw"]:
            out.append(f"{where}.{key}: {s[key]!r} is not among the simulated descriptions sim.hw {s['hw']}")
    for m in s["models"]:
        if m in MODELS:
            try:
                check_workload(m, s["w_bits"], s["a_bits"], s["batches"], s["contexts"])
                check_workload(m, 1, 1, s["sensitivity_batches"], s["sensitivity_contexts"])
            except ValueError as err:
                out.append(f"{where}: {err}")
    sail = hws.get(s["sail_hw"])
    if sail is not None:
        for key, values in s["sensitivity"].items():
            if key in sail.options:
                continue
            if key not in sail.params:
                known = sorted(sail.params) + sorted(sail.options)
                out.append(f"{where}.sensitivity: {key!r} is not a parameter of {sail.name}{did_you_mean(key, known)}")
                continue
            for v in values:
                try:
                    check_values({key: float(v)}, f"{where}.sensitivity")
                except (TypeError, ValueError) as err:
                    out.append(str(err))
                    break
        # the simulator reads the PRT table at SAIL's n_bw and PRT size for every simulated a_bits
        try:
            grid = ProfileGrid.from_params(profile)
        except ValueError:
            grid = None  # reported by _check_profile
        if grid is not None:
            n_bw = int(sail.value("csram.n_bw"))
            entries = int(sail.value("dfm.prt_entries")) if "dfm.prt_entries" in sail.params else None
            for a in sorted(set(s["a_bits"]) | {s["ablation_workload"]["a_bits"]}):
                if not any(n == n_bw and pa == a and e == "twos_complement" for n, pa, e in grid.points):
                    out.append(f"{where}.a_bits: {a} at n_bw={n_bw} ({sail.name}) is not profiled; "
                               f"profile points (n_bw, a_bits): {sorted({(n, pa) for n, pa, _ in grid.points})}")
            if entries is not None and entries not in grid.prt_entries:
                out.append(f"{where}: {sail.name} dfm.prt_entries={entries} is not among the profiled PRT sizes "
                           f"{list(grid.prt_entries)}")
    return out


def _check_cost(c: dict, sim: dict, prices_path: Path, where: str) -> list[str]:
    out: list[str] = []
    try:
        from sail.cost import load_prices

        instances = set(load_prices(prices_path).index)
    except (OSError, ValueError) as err:
        return [f"{where}: cannot read the price table {prices_path}: {err}"]

    def instance(path, name):
        if name not in instances:
            out.append(f"{path}: instance {name!r} is not in {prices_path}{did_you_mean(name, instances)}; "
                       f"known: {sorted(instances)}")

    for name, sysc in c["systems"].items():
        instance(f"{where}.systems.{name}.instance", sysc["instance"])
        if sysc["hw"] not in sim["hw"]:
            out.append(f"{where}.systems.{name}.hw: {sysc['hw']!r} is not simulated (sim.hw {sim['hw']})")
    for key in ("cpu_instances", "sail_instances"):
        for inst in c["sensitivity"][key]:
            instance(f"{where}.sensitivity.{key}", inst)
    for base in c["match_on"]:
        if base not in c["systems"]:
            out.append(f"{where}.match_on: baseline {base!r} is not a priced system {sorted(c['systems'])}")
    return out


def config_problems(config: dict, root: str | Path = ".") -> list[str]:
    """Every cross-field problem of a schema-valid config, as ``"<path>: <problem>"`` lines."""
    root = Path(root)
    model = config["model"]["name"]
    problems: list[str] = []
    for name, exp in config["experiments"].items():
        w = f"experiments.{name}"
        problems += _check_quant(exp["quant"], model, f"{w}.quant")
        problems += _check_kernels(exp["kernels"], model, f"{w}.kernels")
        problems += _check_profile(exp["profile"], f"{w}.profile")
        problems += _check_sim(exp["sim"], exp["profile"], root / "config" / "hw", f"{w}.sim")
        problems += _check_cost(exp["cost"], exp["sim"], root / "data" / "prices.csv", f"{w}.cost")
    return list(dict.fromkeys(problems))  # the full and quick sets share blocks (YAML anchors)


def check_config(config: dict, root: str | Path = ".") -> None:
    """Raise :class:`ConfigError` listing every cross-field problem (run by the Snakefile at load)."""
    problems = config_problems(config, root)
    if problems:
        raise ConfigError("the configuration breaks cross-field rules:\n  " + "\n  ".join(problems))
