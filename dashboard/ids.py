"""Every component id, in one place. Kebab-case with a page/area prefix."""

# location and linked state
URL = "app-url"
VIEW = "app-view"  # store: {"view": "matrix" | "head", "layer": int, "head": int}
WEBGL = "app-webgl"  # store: whether the browser can draw WebGL (set by assets/webgl.js)
WEBGL_MESSAGE = "app-webgl-message"  # what to enable, shown in place of the matrix without it
ALERT = "app-alert"
URL_NOTE = "app-url-note"  # which parts of a link were not understood (defaults shown)
# stores: what each view's callbacks hear of VIEW, REQUEST, JOB_PROGRESS, ANALYSIS, METRICS and
# the URL's search, passed on only while that view is open (views/url.py; assets/views.js reads
# each store's gate and part from its id, gate-<gate>-<part>); the "other" gate's while any view
# but the matrix is (the analysis job, which several of them need). The matrix hears only its
# own opening through a gate, as it draws the page's first figure (a gate before REQUEST would
# hold it back)
MATRIX_VIEW = "gate-matrix-view"
OTHER_VIEW = "gate-other-view"
OTHER_REQUEST = "gate-other-request"
HEAD_VIEW = "gate-head-view"
HEAD_REQUEST = "gate-head-request"
HEAD_PROGRESS = "gate-head-progress"
HEAD_SEARCH = "gate-head-search"  # the URL's search: the similar heads' links carry the state
HEAD_ANALYSIS = "gate-head-analysis"
HEAD_METRICS = "gate-head-metrics"  # heads measured: the fidelity badge
SENTENCE_VIEW = "gate-sentence-view"
SENTENCE_REQUEST = "gate-sentence-request"
SENTENCE_PROGRESS = "gate-sentence-progress"
SIMILARITY_VIEW = "gate-similarity-view"
SIMILARITY_REQUEST = "gate-similarity-request"
SIMILARITY_ANALYSIS = "gate-similarity-analysis"
COMPARE_VIEW = "gate-compare-view"
COMPARE_REQUEST = "gate-compare-request"
COMPARE_PROGRESS = "gate-compare-progress"
COMPARE_ANALYSIS = "gate-compare-analysis"
VIEW_GATES = (  # from VIEW, REQUEST, JOB_PROGRESS and the URL's search
    MATRIX_VIEW,
    OTHER_VIEW,
    OTHER_REQUEST,
    HEAD_VIEW,
    HEAD_REQUEST,
    HEAD_PROGRESS,
    HEAD_SEARCH,
    SENTENCE_VIEW,
    SENTENCE_REQUEST,
    SENTENCE_PROGRESS,
    SIMILARITY_VIEW,
    SIMILARITY_REQUEST,
    COMPARE_VIEW,
    COMPARE_REQUEST,
    COMPARE_PROGRESS,
)
# from VIEW, ANALYSIS and METRICS: a gate of their own, as the analysis job hears the "other" gate
ANALYSIS_GATES = (HEAD_ANALYSIS, HEAD_METRICS, SIMILARITY_ANALYSIS, COMPARE_ANALYSIS)

# page shell (navbar and sidebar)
SIDEBAR = "app-sidebar"  # collapses to give the view the whole width
SIDEBAR_TOGGLE = "app-sidebar-toggle"
USER = "app-user"  # navbar slot for the signed-in user

# controls
MODEL = "ctl-model"
CORPUS = "ctl-corpus"
METHOD = "ctl-method"
DIMS = "ctl-dims"
OPTIONS = "ctl-options"
SCALE = "ctl-scale"  # slider: index into projection.joint.RATIOS (the norm scale)
COLOR = "ctl-color"
ALIGN = "ctl-align"  # radio: align each map to a reference (projection/align.py)
MODEL_INFO = "ctl-model-info"
GENERATE = "ctl-generate"  # causal models: continue each sentence by N greedy tokens
GENERATED_HIDE = "ctl-generated-hide"  # checklist: hide the generated tokens in the head view

# user data
DATA_TEXT = "data-text"
DATA_UPLOAD = "data-upload"
DATA_IMAGES = "data-images"
DATA_SUBMIT = "data-submit"
DATA_MESSAGE = "data-message"
DATA_CORPORA = "data-corpora"  # store (browser-local): the user's corpora as dropdown options
DATA_PENDING = "data-pending"  # store: an upload waiting for "replace the text in the box?"
DATA_CONFIRM = "data-confirm"  # that question, with its two buttons
DATA_CONFIRM_TEXT = "data-confirm-text"
DATA_REPLACE = "data-replace"
DATA_KEEP = "data-keep"
DATA_SHARE = "data-share"  # the owner shares the open corpus with everyone signed in
DATA_SHARED = "data-shared"  # what sharing did

# search
SEARCH = "search-text"
SEARCH_OPTIONS = "search-options"
SEARCH_INFO = "search-info"

# jobs
REQUEST = "job-request"  # store: the resolved request the job and figures work from
JOB_WANTED = "job-wanted"  # store: the request while its maps need a job (else None)
JOB_PROGRESS = "job-progress"  # store: what the running job reports
JOB_RESULT = "job-result"  # store: how the last job ended
JOB_PANEL = "job-panel"
JOB_BAR = "job-bar"
JOB_TEXT = "job-text"
JOB_CANCEL = "job-cancel"

# matrix view
MATRIX_SECTION = "matrix-section"
MATRIX_GRAPH = "matrix-graph"
MATRIX_SHOWN = "matrix-shown"  # store: which heads the figure shows, and from which phase
# store: [the matrix box's width, the window's height] in CSS px at page load (assets/matrix.js):
# how many points a cell can show
MATRIX_VIEWPORT = "matrix-viewport"
# store: set when a page load's matrix came straight from its URL (views/page_load.py)
MATRIX_PAGE_LOAD = "matrix-page-load"
MATRIX_NOTE = "matrix-note"
MATRIX_METRIC = "matrix-metric"  # dropdown: colour the cells by a head metric (or none)
MATRIX_SORT = "matrix-sort"  # checklist: sort each layer's heads by that metric
MATRIX_DIM = "matrix-dim"  # checklist: draw heads whose map is unfaithful faint

# single-head view
HEAD_SECTION = "head-section"
HEAD_GRAPH = "head-graph"
HEAD_SHOWN = "head-shown"
HEAD_FIGURE = "head-figure"  # store: the head figure as sent, without per-point hover text
IMAGE_NAMES = "image-names"  # store: graph id → the file its PNG and SVG buttons save
# the clientside callback that puts those names into the graphs (assets/export.js) outputs here
IMAGE_NAMES_SET = "image-names-set"
HEAD_HOVER = "head-hover"  # store: the corpus's hover table, sent once per corpus
HEAD_TITLE = "head-title"
HEAD_NOTE = "head-note"
HEAD_BACK = "head-back"
HEAD_PANEL = "head-panel"  # the hovered/selected token's strongest links
HEAD_TOP_K = "head-top-k"
HEAD_MIN_WEIGHT = "head-min-weight"
HEAD_SIZE = "head-size"  # checklist: dot size by vector norm
HEAD_FIDELITY = "head-fidelity"  # the map's fidelity badge and the head's metrics

HEAD_SIMILAR = "head-similar"  # the most similar heads, as links that open them
HEAD_SCALE_EQUAL = "head-scale-equal"  # norm-scale presets
HEAD_SCALE_FAITHFUL = "head-scale-faithful"
HEAD_SCALE_CURVE = "head-scale-curve"  # rho_full against the norm scale
HEAD_SCALE_NOTE = "head-scale-note"

# head-similarity view
SIMILARITY_SECTION = "similarity-section"
SIMILARITY_GRAPH = "similarity-graph"
SIMILARITY_NOTE = "similarity-note"
SIMILARITY_BACK = "similarity-back"
MATRIX_TO_SIMILARITY = "matrix-to-similarity"

# head metrics, measured on the workers after a job (views/measure.py)
METRICS = "metrics-measured"  # store: {key, measured, at}: how many heads' metrics are cached
METRICS_POLL = "metrics-poll"  # interval: looks for more while some are missing

# analysis job (similarity of every head, the open head's scale curve)
ANALYSIS_WANTED = "analysis-wanted"  # store: what the analysis job should compute
ANALYSIS = "analysis-result"  # store: how it ended

# legend
LEGEND = "legend"

# sentence view
SENTENCE_SECTION = "sentence-section"
SENTENCE_GRAPH = "sentence-graph"
SENTENCE_PICK = "sentence-pick"
SENTENCE_SCOPE = "sentence-scope"
SENTENCE_HIDE_FIRST = "sentence-hide-first"
SENTENCE_BACK = "sentence-back"
SENTENCE_NOTE = "sentence-note"
SENTENCE_SHOWN = "sentence-shown"  # store: what the sentence figure currently draws
HEAD_TO_SENTENCE = "head-to-sentence"
IMAGE_MAP = "image-map"  # the head's Q/K map of the open image's tokens, beside the image
IMAGE_MAP_WRAP = "image-map-wrap"
IMAGE_MAP_SHOWN = "image-map-shown"  # store: what the image map draws (progress re-runs it)

# export
COPY_LINK = "export-copy-link"  # dcc.Clipboard: the current view's URL
HEAD_CSV = "export-head-csv"  # the open head's coordinates and metadata, as CSV …
HEAD_NPZ = "export-head-npz"  # … or npz
HEAD_DOWNLOAD = "export-head-download"  # dcc.Download both go through

# drop a sentence into the open head's map
PLACE_TEXT = "place-text"
PLACE_SUBMIT = "place-submit"
PLACE_NOTE = "place-note"
PLACED = "place-placed"  # store: the placed sentence (map key, head, tokens, coords, weights)
PLACE_SHOW_SENTENCE = "place-show-sentence"  # opens the placed sentence's links below the map
PLACE_SENTENCE_GRAPH = "place-sentence-graph"

# compare view: two heads side by side (of one model, or of two models on one corpus)
HEAD_TO_COMPARE = "head-to-compare"
COMPARE_SECTION = "compare-section"
COMPARE_BACK = "compare-back"
COMPARE_A_LAYER = "compare-a-layer"
COMPARE_A_HEAD = "compare-a-head"
COMPARE_B_MODEL = "compare-b-model"
COMPARE_B_LAYER = "compare-b-layer"
COMPARE_B_HEAD = "compare-b-head"
COMPARE_A_GRAPH = "compare-a-graph"
COMPARE_B_GRAPH = "compare-b-graph"
COMPARE_A_NOTE = "compare-a-note"
COMPARE_B_NOTE = "compare-b-note"
COMPARE_PANES = "compare-panes"  # radio: two heads, or two models' whole matrices
MATRIX_TO_COMPARE = "matrix-to-compare"
COMPARE_SHOWN = "compare-shown"  # store: what both panes draw (the linked hover patches them)
