"""`orderchain evidence verify FILE`: check an evidence file on this machine, trusting no server.

FILE is what ``GET /evidence/{bundle hash}`` answers (or a bare bundle). The command
recomputes the bundle hash (keccak-256 of its RFC 8785 canonical JSON), checks every
signature in it against the buyer, the witness's seal, folds the Merkle proof up to the root
step by step, and, given a node (``--rpc`` or ``ORDERCHAIN_RPC_URL``), asks the anchor
contract itself whether the proof leads to an anchored batch and whether the sealer is a
witness. Exit status 0 when every check holds, 1 otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from api.cli import serve as s

app = typer.Typer(help="Evidence bundles: check one on this machine, trusting no server.", no_args_is_help=True)


def _mark(ok: bool) -> str:
    return "ok  " if ok else "FAIL"


def _fold(bundle_hash: str, proof: list[str]) -> tuple[str, list[str]]:
    """The root the proof leads to, and each step of the fold as a line."""
    from engine.evidence.merkle import fold

    nodes = fold(bundle_hash, proof)
    lines = [f"  leaf = keccak256(bundle hash) = {nodes[0]}"]
    lines += [f"  with {sibling}: keccak256(smaller || larger) = {node}" for sibling, node in zip(proof, nodes[1:])]
    return nodes[-1], lines


def _on_chain(
    rpc_url: str, anchor: str | None, bundle_hash: str, proof: list[str], sealer: str | None
) -> tuple[int | None, int | None, bool | None]:
    from engine.chain.abi import FunctionEncoder
    from engine.chain.manifest import Manifest
    from engine.chain.rpc import Rpc

    rpc = Rpc(rpc_url)
    try:
        deployed = Manifest.load(s.settings().deployments_dir, rpc.chain_id()).contract("EvidenceAnchor")
    except Exception as exc:
        s.fail(
            f"no EvidenceAnchor deployment known for this node ({exc}): its ABI and address come from the "
            "deployment manifest (ORDERCHAIN_DEPLOYMENTS)",
            2,
        )
    address, functions = (anchor or deployed.address), FunctionEncoder(deployed.abi)

    def view(name: str, *args):
        return functions.decode_output(
            name, rpc.call("eth_call", {"to": address, "data": functions.encode(name, *args)}, "latest")
        )

    batch_id, anchored_at = view("verify", bytes.fromhex(bundle_hash[2:]), [bytes.fromhex(p[2:]) for p in proof])
    is_witness = bool(view("witnesses", sealer)[0]) if sealer else None
    return batch_id, anchored_at, is_witness


@app.command()
def verify(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="The JSON of GET /evidence/{bundle hash}, or a bare bundle.",
    ),
    rpc: str | None = typer.Option(
        None,
        "--rpc",
        envvar="ORDERCHAIN_RPC_URL",
        help="A node to ask the anchor contract [default: offline checks only].",
    ),
    anchor: str | None = typer.Option(
        None, "--anchor", help="Another EvidenceAnchor address [default: the deployment's]."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
):
    """Check an evidence file: its hash, its signatures, the witness's seal, its Merkle proof
    folded by hand to the anchored root, and (with a node) the anchor contract's own answer."""
    from engine.evidence import bundles as evidence

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        s.fail(f"{file} is not JSON: {exc}", 2)
    if not isinstance(data, dict):
        s.fail(f"{file} is not a JSON object", 2)
    bundle = data.get("bundle", data)
    report = evidence.check(bundle)
    bundle_hash = report["hash"]
    verdict: dict = {
        "bundle_hash": bundle_hash,
        "signatures_valid": report["ok"],
        "checks": report["checks"],
        "problems": report["problems"],
    }
    if data.get("bundle_hash") and bundle_hash:
        verdict["hash_matches"] = data["bundle_hash"].lower() == bundle_hash
    sealer = evidence.seal_signer(bundle_hash, data["seal"]) if data.get("seal") and bundle_hash else None
    if data.get("seal"):
        verdict["seal_by_witness"] = bool(sealer) and sealer == str(data.get("witness", "")).lower()
    steps: list[str] = []
    anchoring = data.get("anchoring")
    if anchoring and bundle_hash:
        folded, steps = _fold(bundle_hash, anchoring.get("proof", []))
        verdict["proof_leads_to_root"] = folded == str(anchoring.get("root", "")).lower()
        verdict["folded_root"] = folded
        if rpc:
            batch_id, anchored_at, is_witness = _on_chain(rpc, anchor, bundle_hash, anchoring.get("proof", []), sealer)
            verdict["anchored_on_chain"] = batch_id == anchoring.get("batch_id") and batch_id != 0
            verdict["anchored_at"] = anchored_at
            if is_witness is not None:
                verdict["sealer_is_witness_on_chain"] = is_witness
    elif not anchoring:
        verdict["problems"] = verdict["problems"] + ["no anchoring in the file: not anchored yet"]
    held = [
        k
        for k in (
            "signatures_valid",
            "hash_matches",
            "seal_by_witness",
            "proof_leads_to_root",
            "anchored_on_chain",
            "sealer_is_witness_on_chain",
        )
        if k in verdict
    ]
    verdict["ok"] = bool(bundle_hash) and all(verdict[k] for k in held) and bool(anchoring)
    if as_json:
        typer.echo(json.dumps(verdict, indent=2))
    else:
        typer.echo(f"bundle hash {bundle_hash or '(none: the bundle is not whole)'}")
        for name, ok in report["checks"].items():
            typer.echo(f"{_mark(ok)} signature check: {name}")
        for key in held[1:]:
            typer.echo(f"{_mark(verdict[key])} {key.replace('_', ' ')}")
        if steps:
            typer.echo("the proof, folded (leaves are keccak256 of the bundle hash; each pair sorted, then hashed):")
            for line in steps:
                typer.echo(line)
            typer.echo(f"  root  {verdict['folded_root']} (the file says {anchoring.get('root')})")
        if rpc is None and anchoring:
            typer.echo("(no node given: the anchor contract was not asked; pass --rpc)")
        for problem in verdict["problems"]:
            typer.echo(f"problem: {problem}")
        typer.echo("VERIFIED" if verdict["ok"] else "NOT VERIFIED")
    if not verdict["ok"]:
        raise typer.Exit(1)
