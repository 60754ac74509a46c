"""Claims the test provider hands out: the email (verified) of its user."""


def userinfo(claims, user):
    claims["email"] = user.email
    claims["email_verified"] = True
    claims["name"] = user.get_full_name() or user.email
    return claims


def idtoken_hook(id_token, user, **kwargs):
    id_token["email"] = user.email
    return id_token
