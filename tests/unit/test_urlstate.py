from dashboard.urlstate import UrlState, parse


def test_round_trip():
    state = UrlState(method="umap", dims=3, translate=False, color="discrete").open_head(2, 7)
    assert parse(state.to_search()) == state
    assert parse(state.close_head().to_search()) == state.close_head()


def test_malformed_values_fall_back_to_defaults():
    state = parse("?method=mds&dims=7&layer=x&view=head&color=<b>&translate=0")
    assert state.method == "pca" and state.dims == 2 and state.color == "role"
    assert state.view == "matrix" and state.layer is None  # a head view needs layer and head
    assert state.translate is False and state.scale is True
    assert parse(None) == UrlState() == parse("")


def test_head_view_query():
    state = parse("?view=head&layer=0&head=0")
    assert (state.view, state.layer, state.head) == ("head", 0, 0)  # index 0 is a real head
