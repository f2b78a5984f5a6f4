"""Deploys every contract of orderchain (and, on development chains, the test stablecoin and its balances).

    ape run deploy --network ethereum:local:foundry
    ape run deploy --network ethereum:local:http://127.0.0.1:8545
    ape run deploy --network ethereum:sepolia:node --deployer my-alias --token 0x...

Writes ``deployments/<chain_id>.json``: the chain id and, for each contract, its address,
the block it was deployed in and its ABI. The engine reads only that file.
"""

import json
import time
from pathlib import Path

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from ape.contracts import ContractContainer
from eth_utils import keccak
from ethpm_types import ContractType

DEV_CHAIN_IDS = {1337, 31337}
DAY = 86_400
# Dev accounts 0..9 of the well-known test mnemonic get this much test stablecoin.
DEV_MINT = 1_000_000 * 10**6
# The Ethereum Attestation Service, deployed from the compiled artifacts its npm package ships.
EAS_ARTIFACTS = (
    Path(__file__).resolve().parents[1] / "node_modules/@ethereum-attestation-service/eas-contracts/artifacts"
)
IDENTITY_SCHEMA = "bytes32 identityHash,uint8 level"  # engine/accounts/identity.py SCHEMA
NO_RESOLVER = "0x" + "00" * 20


def _abi(container) -> list:
    return [item.model_dump(mode="json", by_alias=True) for item in container.contract_type.abi]


def _with_reader(abi: list, reader_abi: list) -> list:
    """A contract's ABI with the functions its reader serves for it (those it lacks itself)."""
    own = {item.get("name") for item in abi if item["type"] == "function"}
    return abi + [item for item in reader_abi if item["type"] == "function" and item["name"] not in own]


def _eas_container(name: str) -> ContractContainer:
    raw = json.loads((EAS_ARTIFACTS / f"contracts/{name}.sol/{name}.json").read_text())
    return ContractContainer(
        ContractType.model_validate(
            {
                "contractName": name,
                "abi": raw["abi"],
                "deploymentBytecode": {"bytecode": raw["bytecode"]},
                "runtimeBytecode": {"bytecode": raw["deployedBytecode"]},
            }
        )
    )


def _identity_schema(registry, deployer) -> str:
    """Registers the identity schema (once: a schema's UID is fixed by its text) and returns its UID."""
    uid = "0x" + keccak(IDENTITY_SCHEMA.encode() + bytes(20) + b"\x01").hex()
    if registry.getSchema(uid).schema != IDENTITY_SCHEMA:
        registry.register(IDENTITY_SCHEMA, NO_RESOLVER, True, sender=deployer)
    return uid


def _entry(container, contract) -> dict:
    receipt = chain.provider.get_receipt(contract.txn_hash)
    return {
        "address": contract.address,
        "block": receipt.block_number,
        "tx_hash": receipt.txn_hash,
        "abi": _abi(container),
    }


@click.command(cls=ConnectedProviderCommand)
@click.option(
    "--deployer",
    "deployer_alias",
    default=None,
    help="ape account alias that deploys and owns the contracts (default on development chains: dev account 0).",
)
@click.option("--arbiter", default=None, help="Dispute arbiter address (default: the deployer).")
@click.option("--token", "tokens", multiple=True, help="ERC-20 token to allow-list; repeat for several.")
@click.option(
    "--test-token/--no-test-token",
    default=None,
    help="Deploy the 6-decimal test stablecoin (default: only on development chains).",
)
@click.option(
    "--default-time-limit",
    default=10 * DAY,
    show_default=True,
    type=int,
    help="Settlement time limit in seconds when the payer gives none.",
)
@click.option("--min-time-limit", default=3600, show_default=True, type=int)
@click.option("--max-time-limit", default=90 * DAY, show_default=True, type=int, help="At most 365 days.")
@click.option(
    "--response-window",
    default=7 * DAY,
    show_default=True,
    type=int,
    help="Seconds the store has to answer a buyer's claim (1 to 90 days).",
)
@click.option(
    "--arbitration-window",
    default=30 * DAY,
    show_default=True,
    type=int,
    help="Seconds the arbiter has to split a dispute (1 to 90 days).",
)
@click.option(
    "--arbiter-delay",
    default=3 * DAY,
    show_default=True,
    type=int,
    help="Seconds from a new arbiter's announcement until it takes effect (1 to 90 days).",
)
@click.option(
    "--metadata-base",
    default="http://127.0.0.1:8000/cases/",
    show_default=True,
    help="Base of every case's tokenURI: the API's /cases/ (tokenURI is BASE{tokenId}/metadata). "
    "`orderchain run` and `orderchain deploy` pass ORDERCHAIN_PUBLIC_URL (or the API's host and "
    "port) + /cases/.",
)
@click.option(
    "--witness",
    default=None,
    help="The evidence witness that anchors order evidence (default: the deployer; on development "
    "chains dev account 8).",
)
@click.option(
    "--operator",
    default=None,
    help="The cross-border operator who pays freight legs beside sellers (default: the deployer).",
)
@click.option(
    "--eas",
    "eas_address",
    default=None,
    help="An EAS contract already on the chain (its schema registry is asked for): the identity "
    "schema is registered there. Default: deploy SchemaRegistry and EAS from the npm package's artifacts.",
)
@click.option(
    "--attester",
    "attesters",
    multiple=True,
    help="An address whose identity attestations the engine trusts; repeat for several (default: the operator).",
)
@click.option(
    "--verifier",
    default=None,
    help="The operator's verification service that records verified shipments for pay-after-delivery "
    "(default: the deployer; on development chains dev account 8, the engine's service account there).",
)
@click.option("--out-dir", default="deployments", show_default=True, type=click.Path())
def cli(
    network,
    deployer_alias,
    arbiter,
    tokens,
    test_token,
    default_time_limit,
    min_time_limit,
    max_time_limit,
    response_window,
    arbitration_window,
    arbiter_delay,
    metadata_base,
    witness,
    operator,
    eas_address,
    attesters,
    verifier,
    out_dir,
):
    chain_id = chain.chain_id
    dev = chain_id in DEV_CHAIN_IDS
    if deployer_alias:
        deployer = accounts.load(deployer_alias)
    elif dev:
        deployer = accounts.test_accounts[0]
    else:
        raise click.UsageError("--deployer is required outside development chains")
    if test_token is None:
        test_token = dev

    started = time.monotonic()
    contracts = {}
    allowed = list(tokens)
    if test_token:
        stable = project.TestStablecoin.deploy(deployer, sender=deployer)
        contracts["TestStablecoin"] = _entry(project.TestStablecoin, stable)
        allowed.append(stable.address)
        if dev:
            for account in accounts.test_accounts[:10]:
                stable.mint(account, DEV_MINT, sender=deployer)

    settlement = project.C2CSettlement.deploy(
        deployer,
        arbiter or deployer,
        default_time_limit,
        min_time_limit,
        max_time_limit,
        response_window,
        arbitration_window,
        arbiter_delay,
        sender=deployer,
    )
    contracts["C2CSettlement"] = _entry(project.C2CSettlement, settlement)
    # The liquor contract serves its views from its reader (delegated calls on its own
    # storage): its manifest ABI lists the reader's functions beside its own.
    liquor_reader = project.LiquorCasesReader.deploy(sender=deployer)
    contracts["LiquorCasesReader"] = _entry(project.LiquorCasesReader, liquor_reader)
    liquor = project.LiquorCases.deploy(deployer, liquor_reader.address, sender=deployer)
    liquor.setBaseURI(metadata_base, sender=deployer)
    contracts["LiquorCases"] = {
        **_entry(project.LiquorCases, liquor),
        "abi": _with_reader(_abi(project.LiquorCases), _abi(project.LiquorCasesReader)),
        "metadata_base": metadata_base,
    }
    group_buy = project.GroupBuy.deploy(deployer, sender=deployer)
    contracts["GroupBuy"] = _entry(project.GroupBuy, group_buy)
    witness = witness or (accounts.test_accounts[8].address if dev else deployer.address)
    anchor = project.EvidenceAnchor.deploy(deployer, witness, sender=deployer)
    contracts["EvidenceAnchor"] = _entry(project.EvidenceAnchor, anchor)
    escrow = project.CrossBorderEscrow.deploy(
        deployer,
        operator or deployer.address,
        arbiter or deployer,
        14 * DAY,
        7 * DAY,
        5 * DAY,
        30 * DAY,
        arbiter_delay,
        sender=deployer,
    )
    contracts["CrossBorderEscrow"] = _entry(project.CrossBorderEscrow, escrow)
    eas_type, registry_type = _eas_container("EAS"), _eas_container("SchemaRegistry")
    if eas_address:
        eas = eas_type.at(eas_address)
        registry = registry_type.at(eas.getSchemaRegistry())
        contracts["SchemaRegistry"] = {"address": registry.address, "block": 0, "abi": _abi(registry_type)}
        eas_entry = {"address": eas.address, "block": chain.blocks.head.number, "abi": _abi(eas_type)}
    else:
        registry = registry_type.deploy(sender=deployer)
        contracts["SchemaRegistry"] = _entry(registry_type, registry)
        eas = eas_type.deploy(registry.address, sender=deployer)
        eas_entry = _entry(eas_type, eas)
    contracts["EAS"] = {
        **eas_entry,
        "identity_schema": _identity_schema(registry, deployer),
        "attesters": [a.lower() for a in (attesters or [operator or deployer.address])],
    }
    offline = project.OfflinePayment.deploy(
        deployer,
        verifier or (accounts.test_accounts[8].address if dev else deployer.address),
        operator or deployer.address,
        sender=deployer,
    )
    contracts["OfflinePayment"] = _entry(project.OfflinePayment, offline)
    for token in allowed:
        offline.setTokenAllowed(token, True, sender=deployer)
        settlement.setTokenAllowed(token, True, sender=deployer)
        liquor.setTokenAllowed(token, True, sender=deployer)
        group_buy.setTokenAllowed(token, True, sender=deployer)
        escrow.setTokenAllowed(token, True, sender=deployer)

    manifest = {
        "chain_id": chain_id,
        "network": network.name,
        "deployer": deployer.address,
        "contracts": contracts,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{chain_id}.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    click.echo(
        f"deployed on chain {chain_id} in {time.monotonic() - started:.1f}s: "
        + ", ".join(f"{name} {c['address']} (block {c['block']})" for name, c in contracts.items())
    )
    click.echo(f"wrote {path}")
