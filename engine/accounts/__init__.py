"""Accounts (seed 003, part 1): who a buyer, a store's staff, a warehouse, a lender or the
operator is, and how far they can be trusted. The rules are plain functions, one module per
concern: the profile and what each action needs of it (:mod:`.profile`), the two sign-in
factors (:mod:`.factors`: the password and the one-time codes, with the lockout), and the
reputation and the credit limit it sets (:mod:`.reputation`).
"""
