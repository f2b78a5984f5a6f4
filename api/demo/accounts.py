"""The accounts part of `orderchain demo`: two people get accounts before the liquor walk needs
them, and the reputation their orders built is shown at the end.

Bob registers with his phone and verifies it with the code sent to it (the local outbox stands
in for the phone); a wrong code is refused; he signs in with his password and a fresh code,
sees what each action still needs, completes his profile, binds his wallet by signing in with
Ethereum, and the operator reviews his profile and attests it on chain (EAS): a salted hash and
a level. The lender gets an account complete enough for a pickup.
"""

from __future__ import annotations

from collections.abc import Callable

from api.client import answer, sign_transaction
from api.client.group_buy import sign_in_message
from api.demo.steps import StepWalk

BOB, LENDER, OPERATOR = 3, 7, 0
PASSWORD = "correct horse battery staple"
PEOPLE = {
    BOB: ("bob@example.org", "Bob Example", "+44 7911 123456", "12 Quay Street", "Leith EH6 6LX"),
    LENDER: ("lender@example.org", "Leith Lending Ltd", "+44 7911 123457", "7 Harbour Road", "Leith EH6 6LX"),
}


class AccountWalk(StepWalk):
    """The walk; ``codes(phone)`` reads the newest code sent to a phone."""

    def __init__(self, http, admin: dict, token: str, settle, holder: Callable, codes: Callable[[str], str], out=print):
        super().__init__(http, admin, token, settle, holder, (BOB, LENDER, OPERATOR), out)
        self.codes = codes
        self.sessions: dict[int, dict] = {}

    def run(self) -> dict[str, object]:
        self.out("\n== accounts: a verified phone, two factors to sign in, a profile, an identity on chain")
        for who in (BOB, LENDER):
            self._account(who)
        self._attest(BOB)
        return self.results

    def _account(self, who: int) -> None:
        login, name, phone, line, town = PEOPLE[who]
        e164 = "+" + "".join(c for c in phone if c.isdigit())
        made = answer(self.http.post("/accounts", json={"login": login, "password": PASSWORD, "phone": phone}))
        self.out(f"  {login} registered; a code went to {made['sent_to']}")
        wrong = self.http.post("/accounts/verify-phone", json={"login": login, "code": "000000"})
        answer(self.http.post("/accounts/verify-phone", json={"login": login, "code": self.codes(e164)}))
        self.out(f"  a wrong code: {wrong.status_code} {wrong.json()['detail']}; the code from the phone: verified")
        answer(self.http.post("/accounts/sign-in/code", json={"login": login}))
        session = answer(
            self.http.post("/accounts/sign-in", json={"login": login, "password": PASSWORD, "code": self.codes(e164)})
        )
        headers = {"Authorization": f"Bearer {session['token']}"}
        self.sessions[who] = headers
        missing = answer(self.http.get("/accounts/me", headers=headers))["missing"]
        self.out(
            f"  signed in with password + {session['factor']} code (session until {session['expires_at']}); still to "
            f"add for a pickup: {', '.join(missing['pickup'])}; for a loan purchase: {', '.join(missing['loan_purchase'])}"
        )
        answer(self.http.patch("/accounts/me", json={"name": name}, headers=headers))
        address = {"lines": [line, town], "country": "GB", "latitude": 55.976, "longitude": -3.17}
        answer(self.http.put("/accounts/me/addresses/home", json=address, headers=headers))
        bound = answer(self.http.post("/accounts/me/wallet", json=sign_in_message(self.h[who]), headers=headers))
        self.out(f"  profile completed, wallet {bound['wallet']} bound (Sign-In with Ethereum)")

    def _attest(self, who: int) -> None:
        login = PEOPLE[who][0]
        review = answer(self.http.get(f"/operator/accounts/{login}", headers=self.admin))["identity"]
        self.out(
            f"  the operator reviews {login}: nothing missing ({review['missing'] == []}), level {review['level']}"
        )
        operator = self.h[OPERATOR]
        built = answer(
            self.http.post(
                f"/operator/accounts/{login}/attestation",
                json={"attester": operator.address, "level": 1},
                headers=self.admin,
            )
        )
        self._done(operator.relay(sign_transaction(operator.account, built["transaction"])), "EAS attestation")
        needs = answer(self.http.get("/accounts/me/needs/loan_purchase", headers=self.sessions[who]))
        self.out(
            f"  on chain: identity hash {built['identity_hash'][:18]}… at level 1 (no personal data); "
            f"a loan purchase is now {'allowed' if needs['allowed'] else 'refused'}"
        )
        self.results["attested"] = needs["allowed"]

    def show_reputation(self, store_address: str) -> None:
        """The reputation the walks built: the store's, and Bob's with his credit limit."""
        self.out("\n== reputation: every capability's outcomes as counters, and the score")
        store = answer(self.http.get(f"/reputation/{store_address}"))
        for c in store["counters"]:
            self.out(f"  store  {c['name']:<22} {c['counts']:<8} {c['last_365_days']}")
        self.out(f"  store score {store['score']} ({store['positive']} for, {store['negative']} against)")
        bob = answer(self.http.get("/accounts/me/reputation", headers=self.sessions[BOB]))
        self.out(
            f"  bob: score {bob['score']}, identity level {bob['identity_level']}, credit limit "
            f"{int(bob['credit_limit']) / 1_000_000:,.2f} tUSD of {int(bob['credit_limit_cap']) / 1_000_000:,.2f}"
        )
        self.results["store_score"] = store["score"]
