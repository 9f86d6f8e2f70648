// A request body over the server's cap (an upload far over QKATLAS_MAX_UPLOAD_BYTES, or many
// images at once) is refused with 413 before any callback runs, so no callback can answer it:
// the server's one sentence (dashboard/security.py) is shown where upload refusals go.
(function () {
  const send = window.fetch;
  window.fetch = async function (...args) {
    const response = await send.apply(this, args);
    const setProps = window.dash_clientside && window.dash_clientside.set_props;
    if (response.status === 413 && setProps) {
      response
        .clone()
        .text()
        .then((text) => setProps('data-message', {children: text.trim()}));
    }
    return response;
  };
})();
