"""Every component id, in one place. Kebab-case with a page/area prefix."""

# location and linked state
URL = "app-url"
VIEW = "app-view"  # store: {"view": "matrix" | "head", "layer": int, "head": int}
WEBGL = "app-webgl"  # store: whether the browser can draw WebGL (set by assets/webgl.js)
WEBGL_MESSAGE = "app-webgl-message"  # what to enable, shown in place of the matrix without it
ALERT = "app-alert"

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
COLOR = "ctl-color"
MODEL_INFO = "ctl-model-info"

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
MATRIX_NOTE = "matrix-note"

# single-head view
HEAD_SECTION = "head-section"
HEAD_GRAPH = "head-graph"
HEAD_SHOWN = "head-shown"
HEAD_FIGURE = "head-figure"  # store: the head figure as sent, without per-point hover text
HEAD_HOVER = "head-hover"  # store: the corpus's hover table, sent once per corpus
HEAD_TITLE = "head-title"
HEAD_NOTE = "head-note"
HEAD_BACK = "head-back"
HEAD_PANEL = "head-panel"  # the hovered/selected token's strongest links
HEAD_TOP_K = "head-top-k"
HEAD_MIN_WEIGHT = "head-min-weight"
HEAD_SIZE = "head-size"  # checklist: dot size by vector norm

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
