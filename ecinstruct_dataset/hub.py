"""Upload an exported folder to the Hugging Face Hub, or say in one sentence why not.

Examples
--------
>>> push_to_hub("hub", "me/ECInstruct")          # doctest: +SKIP
'https://huggingface.co/datasets/me/ECInstruct'
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

#: How long to wait for the Hub to answer a connection before giving up.
CONNECT_TIMEOUT_S = 10.0


class HubPushError(RuntimeError):
    """The upload could not start or failed; the message is one sentence saying why."""


def _reachable(endpoint: str, timeout: float) -> str | None:
    """``None`` when a TCP connection to ``endpoint`` opens, else the reason."""
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return None
    except OSError as e:
        return f"{type(e).__name__}: {e}"


def push_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    endpoint: str | None = None,
    commit_message: str = "Upload ECInstruct (ecinstruct export)",
) -> str:
    """Upload an exported folder as the dataset repository ``repo_id``; return its URL.

    Shards left on the Hub by an earlier upload and absent from ``folder`` are
    deleted in the same commit, so the repository mirrors the folder.

    Raises
    ------
    HubPushError
        Offline mode, no token, the Hub unreachable, or the upload refused; the message
        says which and what to do.
    """
    from huggingface_hub import HfApi, constants, get_token

    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise HubPushError(f"{folder} is not an export folder (no README.md); run `ecinstruct export` first.")
    is_offline = getattr(constants, "is_offline_mode", None)  # huggingface_hub >= 1.1; before, a constant
    if is_offline() if is_offline is not None else constants.HF_HUB_OFFLINE:
        raise HubPushError(
            f"cannot push to the Hub: offline mode is on (HF_HUB_OFFLINE=1); unset it to upload "
            f"{folder} to {repo_id}."
        )
    token = token or get_token()
    if not token:
        raise HubPushError(
            "cannot push to the Hub: no Hugging Face token found; run `hf auth login` or set HF_TOKEN."
        )
    endpoint = endpoint or constants.ENDPOINT
    why = _reachable(endpoint, CONNECT_TIMEOUT_S)
    if why:
        raise HubPushError(f"cannot push to the Hub: {endpoint} is unreachable ({why}).")
    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(
            repo_id=repo_id, repo_type="dataset", folder_path=folder,
            commit_message=commit_message, delete_patterns=["*.parquet"],
        )
    except Exception as e:  # any Hub or HTTP failure becomes one sentence
        raise HubPushError(f"upload of {folder} to {repo_id} failed: {type(e).__name__}: {e}") from e
    return f"{endpoint.rstrip('/')}/datasets/{repo_id}"
