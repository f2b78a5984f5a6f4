"""`orderchain demo`: the walks through the API with the dev accounts, one module per
capability; :mod:`.run` walks them all."""
