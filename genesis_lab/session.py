"""Loading a campaign together with its lab, from files or from a store's manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError
from .lab import Lab
from .ledger import Ledger
from .objectives import compile_objectives, compile_outcome_constraints
from .spec import CampaignSpec, LabSpec, load_campaign, load_lab
from .spec._common import resolve, validate

__all__ = ["CampaignFiles"]


@dataclass
class CampaignFiles:
    """A validated campaign spec and lab spec, with their exact texts."""

    campaign: CampaignSpec
    campaign_text: str
    campaign_source: str
    lab_spec: LabSpec
    lab_text: str
    lab_source: str
    lab_dir: Path | None = None  # relative data paths in the lab file start here
    lab_path: Path | None = None  # the lab file (None for a campaign's stored copy)

    @classmethod
    def load(cls, path: str | Path) -> CampaignFiles:
        p = Path(path)
        campaign, text = load_campaign(p)
        lab_path = resolve(p.resolve(), campaign.lab)
        if not lab_path.exists():
            raise SpecError(
                f"campaign file {p}",
                f"lab: the lab file {campaign.lab!r} does not exist (looked for {lab_path}); "
                "the path is relative to the campaign file",
            )
        lab_spec, lab_text = load_lab(lab_path)
        return cls(
            campaign,
            text,
            f"campaign file {p}",
            lab_spec,
            lab_text,
            f"lab file {lab_path}",
            lab_path.parent,
            lab_path,
        )

    @classmethod
    def from_store(cls, ledger: Ledger) -> CampaignFiles:
        """The campaign and lab exactly as they were run (the store's manifest)."""
        d = ledger.directory
        ctext, ltext = ledger.meta("campaign_yaml"), ledger.meta("lab_yaml")
        csrc, lsrc = _campaign_manifest(d), f"lab manifest in {d}"
        campaign = stored_campaign(ledger)
        lab_spec = validate(LabSpec, _manifest(ltext, lsrc), lsrc)
        lab_dir = ledger.meta("lab_dir")
        return cls(campaign, ctext, csrc, lab_spec, ltext, lsrc, Path(lab_dir) if lab_dir else None)

    def build_lab(self, time_scale: float | None = None, connect: bool = True) -> Lab:
        """The lab, checked against the campaign (devices, readings, objectives, outcome
        constraints) and, with ``connect``, connected to the devices the campaign uses."""
        lab = Lab(self.lab_spec, self.lab_source, time_scale=time_scale, base_dir=self.lab_dir)
        try:
            lab.check_campaign(self.campaign, self.campaign_source)
            compile_objectives(self.campaign, lab, self.campaign_source)
            compile_outcome_constraints(self.campaign, lab, self.campaign_source)
            if connect:
                lab.connect(self.campaign.devices)
        except Exception:
            lab.close()
            raise
        return lab


def _campaign_manifest(directory: Path) -> str:
    return f"campaign manifest in {directory}"


def stored_campaign(ledger: Ledger) -> CampaignSpec:
    """The campaign a store was run with (SpecError, exit 2, when today's rules refuse it)."""
    source = _campaign_manifest(ledger.directory)
    return validate(CampaignSpec, _manifest(ledger.meta("campaign_yaml"), source), source)


def _manifest(text: Any, source: str) -> dict[str, Any]:
    """A YAML file stored in the ledger, parsed; SpecError when it was damaged."""
    damaged = (
        "the store was changed outside Genesis Lab; restore the folder from a backup "
        "(the file as run is also kept beside the ledger)"
    )
    try:
        data = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError as exc:
        raise SpecError(
            source, f"is not valid YAML ({str(exc).splitlines()[0]}); {damaged}"
        ) from None
    if not isinstance(data, dict):
        raise SpecError(source, f"is missing or not a YAML mapping; {damaged}")
    return data
