from dashboard.urlstate import UrlState, _int, parse


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


def test_pinned_point_is_kept_in_the_head_view_only():
    state = parse("?view=head&layer=1&head=2&point=17")
    assert state.point == 17 and "point=17" in state.to_search()
    assert parse(state.to_search()) == state
    assert state.open_head(1, 3).point is None, "another head starts unpinned"
    assert state.close_head().point is None and "point" not in state.close_head().to_search()
    assert "point" not in state.open_sentence(0).to_search()
    assert parse("?point=17").point is None, "only the head view has a pinned point"
    assert parse("?view=head&layer=1&head=2&point=x").point is None


def test_norm_scale_alignment_and_the_similarity_view_round_trip():
    state = UrlState(key_ratio=0.2991, align="pca").open_similarity()
    search = state.to_search()
    assert "key_ratio=0.2991" in search and "align=pca" in search and "view=similarity" in search
    assert parse(search) == state and state.layer is None
    plain = UrlState().to_search()
    assert "key_ratio" not in plain and "align" not in plain  # defaults stay out of links
    bad = parse("?key_ratio=0.3&align=sideways")
    assert bad.key_ratio == 1.0 and bad.align == "none"
    assert parse("?key_ratio=5").key_ratio == 5.0


def test_a_missing_number_is_never_looked_up_in_its_range():
    # `None in range(0, 10_000_000)` compares None with every number in the range: it made each
    # URL parse cost ~20 ms of CPU in the web process (found by bench/load)
    class Unsearchable:
        def __contains__(self, item):
            raise AssertionError(f"looked up {item!r}")

    assert _int(None, 7, Unsearchable()) == 7
    assert _int(None, None, Unsearchable()) is None
    assert _int("3", None, range(0, 10)) == 3
    assert _int("30", None, range(0, 10)) is None
