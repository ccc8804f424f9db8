"""A user with internet names any GGUF by URL with its SHA-256 (`WGBOT_LLM_MODEL=https://…/m.gguf#sha256=…`): here
a real model file served by a local HTTPS server is downloaded through the production path, kept, verified, and
loaded by llama.cpp; a second use does not download it again."""

from __future__ import annotations

from tests.fakes.https_files import serve_https
from transcripts import runtime
from transcripts.llama_model import LlamaModel
from transcripts.model_files import llm_model_path, sha256_of

SMALL = "smollm2-135m-q8_0"  # the smallest real GGUF this project ships


def test_a_gguf_named_by_url_is_downloaded_verified_and_loads(tmp_path, monkeypatch):
    served = llm_model_path(SMALL)  # from the offline cache: the file a hub would serve
    digest = sha256_of(served)
    monkeypatch.setattr(runtime, "_current", runtime.Runtime(tmp_path / "models"))
    with serve_https({"/org/repo/resolve/main/small.gguf": served}, tmp_path) as (origin, cert):
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the certificate a real hub's CA would vouch for
        url = f"{origin}/org/repo/resolve/main/small.gguf#sha256={digest}"
        path = llm_model_path(url)
        assert path.parent == tmp_path / "models" and path.name == "small.gguf"
        assert sha256_of(path) == digest
        model = LlamaModel(path, n_ctx=256, n_batch=64, n_ubatch=64, threads=1, n_seq_max=1)
        try:
            assert model.n_vocab > 1000 and "{%" in model.metadata("tokenizer.chat_template")
        finally:
            model.close()
    assert llm_model_path(url) == path  # the server is gone: kept and verified, not downloaded again
