"""Klaviyo (``io.kestra.plugin.klaviyo.*``): campaigns, recipient estimations and send jobs
read by id over Klaviyo's JSON:API, authenticated by a private ``apiKey``; ``baseUrl`` moves
the API. Rows are the answers' ``data`` objects, given as ``fetchType`` says."""

from __future__ import annotations

from controlplane.spec.fields import DynStrList, Text
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_KLAVIYO = "io.kestra.plugin.klaviyo"
KLAVIYO_URL = "https://a.klaviyo.com/api"


class _Klaviyo(TaskSpec):
    """Outputs ``size`` (the rows read) and ``rows`` (FETCH, the default), ``row`` (FETCH_ONE)
    or ``uri`` (STORE, an Ion file)."""

    apiKey: Text
    baseUrl: Text = KLAVIYO_URL
    fetchType: FetchType = "FETCH"


@task(f"{_KLAVIYO}.campaign.Get")
class KlaviyoCampaignGet(_Klaviyo):
    """``GET /campaigns/{id}`` for each of ``campaignIds``, in order."""

    campaignIds: DynStrList


@task(f"{_KLAVIYO}.campaign.GetRecipientCount")
class KlaviyoRecipientCount(_Klaviyo):
    """``GET /campaign-recipient-estimations/{id}`` for each of ``campaignIds``, in order."""

    campaignIds: DynStrList


@task(f"{_KLAVIYO}.jobs.GetSendJob")
class KlaviyoSendJob(_Klaviyo):
    """``GET /campaign-send-jobs/{id}`` for each of ``jobIds``, in order."""

    jobIds: DynStrList
