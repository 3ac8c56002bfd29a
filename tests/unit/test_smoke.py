def test_factories_build_a_published_achievement(make_achievement):
    listing = make_achievement()
    assert listing.status == "published"
    assert listing.patent_numbers == ["ZL201720001285.X"]
