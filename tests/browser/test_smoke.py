def test_login_page_renders_and_signs_in(page, browser_world, screenshot):
    page.goto(page.base_url + "/accounts/login/")
    screenshot(page, "login")
    page.get_by_label("Email").fill(browser_world.investigator.email)
    page.get_by_label("Password").fill(browser_world.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(page.base_url + "/")
    assert "Welcome" in page.content()
