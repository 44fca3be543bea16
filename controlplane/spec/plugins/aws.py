"""Amazon S3 (``io.kestra.plugin.aws.s3.*``): objects to and from internal storage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynInt, DynStrList, Spec, Text
from controlplane.spec.plugins.scripts import ScriptTask
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_S3 = "io.kestra.plugin.aws.s3"


class AwsConnection(TaskSpec):
    """How every AWS task reaches AWS (or an S3-compatible endpoint)."""

    accessKeyId: Text | None = None
    secretKeyId: Text | None = None
    sessionToken: Text | None = None
    region: Text | None = None
    endpointOverride: Text | None = None
    forcePathStyle: DynBool | None = None
    compatibilityMode: DynBool = False
    stsRoleArn: Text | None = None
    stsRoleExternalId: Text | None = None
    stsRoleSessionName: Text | None = None
    stsRoleSessionDuration: Text | None = None
    stsEndpointOverride: Text | None = None


ListFilter = Literal["FILES", "DIRECTORY", "BOTH"]


class _Listing(AwsConnection):
    bucket: Text
    prefix: Text | None = None
    delimiter: Text | None = None
    marker: Text | None = None
    maxKeys: DynInt = 1000
    regexp: Text | None = None
    filter: ListFilter = "BOTH"
    expectedBucketOwner: Text | None = None
    requestPayer: Text | None = None
    encodingType: Text | None = None
    maxFiles: DynInt = 25


@task(f"{_S3}.Upload")
class S3Upload(AwsConnection):
    bucket: Text
    key: Text
    from_: Text | list[Text] = Field(alias="from")
    acl: Text | None = None
    cacheControl: Text | None = None
    contentType: Text | None = None
    contentEncoding: Text | None = None
    contentDisposition: Text | None = None
    contentLanguage: Text | None = None
    contentLength: DynInt | None = None
    expires: Text | None = None
    metadata: dict[str, Text] | None = None
    storageClass: Text | None = None
    tagging: dict[str, Text] | None = None
    checksum: Text | None = None
    checksumAlgorithm: Text | None = None
    objectLockMode: Text | None = None
    objectLockRetainUntilDate: Text | None = None
    objectLockLegalHoldStatus: Text | None = None
    serverSideEncryption: Text | None = None
    sseKmsKeyId: Text | None = None
    bucketKeyEnabled: DynBool | None = None
    requestPayer: Text | None = None
    expectedBucketOwner: Text | None = None
    compatibilityMode: DynBool = False


@task(f"{_S3}.Download")
class S3Download(AwsConnection):
    bucket: Text
    key: Text
    versionId: Text | None = None
    requestPayer: Text | None = None


class MoveTo(Spec):
    bucket: Text | None = None
    key: Text


@task(f"{_S3}.Downloads")
class S3Downloads(_Listing):
    action: Literal["MOVE", "DELETE", "NONE"] = "NONE"
    moveTo: MoveTo | None = None


@task(f"{_S3}.List")
class S3List(_Listing):
    pass


@task(f"{_S3}.Delete")
class S3Delete(AwsConnection):
    bucket: Text
    key: Text
    bypassGovernanceRetention: DynBool | None = None
    mfa: Text | None = None
    requestPayer: Text | None = None


@task(f"{_S3}.DeleteList")
class S3DeleteList(_Listing):
    concurrent: DynInt | None = None
    errorOnEmpty: DynBool = False


class CopyObject(Spec):
    bucket: Text
    key: Text
    versionId: Text | None = None


@task(f"{_S3}.Copy")
class S3Copy(AwsConnection):
    from_: CopyObject = Field(alias="from")
    to: CopyObject
    delete: DynBool = False


@task(f"{_S3}.CreateBucket")
class S3CreateBucket(AwsConnection):
    bucket: Text
    acl: Text | None = None
    grantFullControl: Text | None = None
    grantRead: Text | None = None
    grantReadACP: Text | None = None
    grantWrite: Text | None = None
    grantWriteACP: Text | None = None
    objectLockEnabledForBucket: DynBool | None = None


@task("io.kestra.plugin.aws.cli.AwsCLI")
class AwsCLI(ScriptTask, AwsConnection):
    """Runs ``aws`` commands with the task's credentials, region and endpoint in their env."""

    commands: DynStrList
    containerImage: Text | None = "amazon/aws-cli"
