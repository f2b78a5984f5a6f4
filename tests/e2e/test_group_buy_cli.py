"""`orderchain wallet campaign`: the enterprise opens a campaign, a buyer orders into it with
signed evidence, another campaign fails and its backer refunds, all from keystores."""

from __future__ import annotations

import re

from api.client import answer

from .conftest import dev_account, register
from .test_group_buy_flow import DAY, C, catalogue


def test_campaigns_from_the_command_line(cli, client, service, chain, tmp_path):
    _, _, rpc = chain
    keystores = {}
    for name, index in (("maker", 5), ("buyer", 6)):
        keystores[name] = str(tmp_path / f"{name}.json")
        cli(
            "wallet",
            "import",
            "--keystore",
            keystores[name],
            env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(index).key.hex()},
        )
    maker, buyer = dev_account(5).address, dev_account(6).address
    token = service.manifest.contract("TestStablecoin").address
    catalogue(client, register(client, "maker", maker))

    def wallet(who: str, *args: str, ok: bool = True, input: str | None = None) -> str:
        return cli("wallet", "campaign", *args, "--keystore", keystores[who], ok=ok, input=input)

    def open_campaign(days: int) -> int:
        out = wallet(
            "maker",
            "open",
            "--store-id",
            "maker",
            "--scheme",
            C,
            "--cycle",
            "1",
            "--token",
            token,
            "--deposit-per-unit",
            "2000",
            "--max-quantity",
            "20",
            "--target-date",
            str(service.rpc.chain_time() + days * DAY),
            "-y",
        )
        assert "CampaignOpened(campaignId=" in out, out
        service.step()
        return int(out.split("CampaignOpened(campaignId=")[1].split(",")[0])

    assert f"no campaigns backed by {buyer}" in wallet("buyer", "mine")
    first = open_campaign(10)
    # The order and its risk notice are shown before anything is signed; declining signs nothing.
    out = wallet("buyer", "order", "--campaign", str(first), "--quantity", "3", input="n\n", ok=False)
    assert "order: 3 unit(s) of scheme" in out and "risk notice:" in out and "Pledged(" not in out
    out = wallet("buyer", "order", "--campaign", str(first), "--quantity", "3", "-y")
    assert "Pledged(" in out and "evidence 0x" in out, out
    bundle = re.search(r"evidence (0x[0-9a-f]{64}) recorded", out).group(1)
    assert answer(client.get(f"/evidence/{bundle}"))["bundle"]["order"]["quantity"] == 3
    service.step()
    out = wallet("buyer", "mine")
    assert f"campaign {first}  open  3 unit(s), deposit 6000" in out and "REFUNDABLE" not in out
    assert "NoRefund" in wallet("buyer", "refund", "--campaign", str(first), "-y", ok=False)

    second = open_campaign(1)
    assert "Pledged(" in wallet("buyer", "order", "--campaign", str(second), "--quantity", "2", "-y")
    assert "MoqLowered(" in wallet("maker", "lower-moq", "--campaign", str(second), "--moq", "7", "-y")
    assert "NotEnterprise" in wallet("buyer", "cancel", "--campaign", str(second), "-y", ok=False)
    rpc.call("evm_increaseTime", 2 * DAY)
    rpc.call("evm_mine")
    service.step()
    assert f"campaign {second}  failed  2 unit(s), deposit 4000" in wallet("buyer", "mine")
    assert "REFUNDABLE" in wallet("buyer", "mine")
    assert "Refunded(" in wallet("buyer", "refund", "--campaign", str(second), "-y")
    service.step()
    assert "refunded" in wallet("buyer", "mine").split(f"campaign {second}")[1]
