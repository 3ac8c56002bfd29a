def test_home_page_renders_in_chromium(live_server, new_page):
    page = new_page()
    response = page.goto(live_server + "/")
    assert response.status == 200
    assert "科技淘宝" in page.title()
