"""What template.yaml deploys, read as CloudFormation will get it: the template transformed by SAM
(as ``sam deploy`` does, with the code locations ``sam package`` would fill in), in both database
modes; and the linters (``sam validate --lint``, cfn-lint with its informational checks, checkov) clean
on both. Nothing here needs AWS: the transform and the linters run offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
BIN = Path(sys.executable).parent
LINT_TIMEOUT_S = 300

# CreateDatabase=false needs an existing database's names: the mode's variant of the template gives
# its parameters these (made-up) defaults, so every tool sees that mode as a deploy would.
EXISTING_DATABASE = {
    "CreateDatabase": "false",
    "DbHost": "cart.proxy-abcdefghijkl.us-east-1.rds.amazonaws.com",
    "DbSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:cart-db-AbCdEf",
    "SubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
    "SecurityGroupIds": "sg-0123456789abcdef0",
}
MODES = {"created-database": {}, "existing-database": EXISTING_DATABASE}

# The functions behind the API's routes and Cognito's sign-in trigger (each behind a canary).
API_FUNCTIONS = [
    "GetCartFunction", "AddItemFunction", "UpdateItemFunction", "RemoveItemFunction", "ClearCartFunction",
    "ValidateCartFunction", "CheckoutFunction", "ApplyDiscountCodeFunction", "RemoveDiscountCodeFunction",
    "SaveItemFunction", "RestoreSavedItemFunction", "SyncCartFunction", "MergeCartFunction",
    "ListAbandonedCartsFunction", "SignInMergeFunction",
]  # fmt: skip
ALL_FUNCTIONS = [*API_FUNCTIONS, "ExpireCartsFunction", "MigrateFunction"]
# Every function that signs in as the application user: all but the migrations.
APP_USER_FUNCTIONS = [*API_FUNCTIONS, "ExpireCartsFunction"]


def _variant(tmp: Path, mode: str) -> Path:
    """template.yaml with the mode's parameter defaults (text edits, so comments and tags stay)."""
    text = TEMPLATE.read_text()
    for name, value in MODES[mode].items():
        pattern = rf"(\n  {name}:\n(?:    .*\n)*?    Default: )[^\n]*"
        text, count = re.subn(pattern, lambda m: f'{m.group(1)}"{value}"', text, count=1)  # used here and now
        assert count == 1, f"no Default for {name}"
    path = tmp / f"template-{mode}.yaml"
    path.write_text(text)
    return path


def _translate(template: Path) -> dict[str, Any]:
    """The CloudFormation that SAM makes of ``template`` (code locations as ``sam package`` sets them)."""
    # aws-sam-translator ships no py.typed (and there is no stubs package): imported here only, so
    # ignored here rather than by a pyproject override that the layer's mypy run would call unused.
    from samtranslator.translator.transform import transform  # type: ignore[import-untyped]
    from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

    class NoManagedPolicies:  # policies are referenced by ARN or resource, never by managed name
        def load(self) -> dict[str, str]:
            return {}

    spec = yaml_parse(template.read_text())
    for name, resource in spec["Resources"].items():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://deploy-bucket/{name}.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    metadata = spec.get("Metadata")
    cloudformation = transform(spec, {}, NoManagedPolicies())
    cloudformation.setdefault("Metadata", metadata)  # the template's cfn-lint settings (and their reasons)
    return cloudformation


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return _translate(TEMPLATE)


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, capture_output=True, text=True, timeout=LINT_TIMEOUT_S, env=env, **kwargs)


def _report(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-3000:]}"


# --- linters, both modes ---------------------------------------------------------------------------


@pytest.mark.packaging
@pytest.mark.parametrize("mode", list(MODES))
def test_sam_validate_lint_is_clean(tmp_path: Path, mode: str) -> None:
    proc = _run([str(BIN / "sam"), "validate", "--lint", "--template-file", str(_variant(tmp_path, mode))])
    assert proc.returncode == 0 and "is a valid SAM Template" in proc.stdout + proc.stderr, _report(proc)


@pytest.mark.packaging
@pytest.mark.parametrize("mode", list(MODES))
def test_cfn_lint_with_informational_checks_is_clean(tmp_path: Path, mode: str) -> None:
    variant = _variant(tmp_path, mode)
    proc = _run([str(BIN / "cfn-lint"), "--include-checks", "I", "--", str(variant)])
    assert proc.returncode == 0, _report(proc)
    # And the transformed template, which alone shows what SAM adds (aliases, deployment groups,
    # permissions): a dependency cycle among those appears only there. W2001 (a parameter not used)
    # is SAM's doing: it writes DeploymentType's and AllowedOrigins' values in place of the Refs; and
    # W1030 is template.yaml's own skip (its reason is there), which a command-line list replaces.
    cloudformation = tmp_path / f"translated-{mode}.json"
    cloudformation.write_text(json.dumps(_translate(variant)))
    proc = _run(
        [str(BIN / "cfn-lint"), "--include-checks", "I", "--ignore-checks", "W2001", "W1030", "--", str(cloudformation)]
    )
    assert proc.returncode == 0, _report(proc)


def _checkov() -> str:
    checkov = os.environ.get("CHECKOV") or str(ROOT / ".venv-checkov" / "bin" / "checkov")
    if not Path(checkov).exists():
        pytest.fail(f"checkov not found at {checkov}: `make test` installs it (its own virtualenv, .venv-checkov)")
    return checkov


@pytest.mark.packaging
@pytest.mark.parametrize("mode", list(MODES))
def test_checkov_finds_nothing_unexplained(tmp_path: Path, mode: str) -> None:
    """Every check passes or is skipped in the template with its reason next to it."""
    variant = _variant(tmp_path, mode)
    proc = _run([_checkov(), "-f", str(variant), "--framework", "cloudformation", "--output", "json"])
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    summary = report.get("summary", {})
    failed = [(c["check_id"], c["resource"]) for c in report.get("results", {}).get("failed_checks", [])]
    assert proc.returncode == 0 and summary.get("failed") == 0, (failed, _report(proc))
    assert summary.get("passed", 0) > 50 and summary.get("parsing_errors") == 0, summary
    for skipped in report["results"]["skipped_checks"]:
        assert len((skipped.get("check_result") or {}).get("suppress_comment") or "") > 20, skipped


# --- runtime and architecture, set once ----------------------------------------------------------------


def test_the_runtime_is_named_once_and_everything_runs_it(translated: dict[str, Any]) -> None:
    from local import template

    spec = template.load()
    runtime = spec["Globals"]["Function"]["Runtime"]
    assert runtime in ("python3.12", "python3.13")
    assert spec["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert f"python{sys.version_info[0]}.{sys.version_info[1]}" == runtime, "tests run the runtime's Python"
    for name, resource in spec["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert "Runtime" not in resource["Properties"] and "Architectures" not in resource["Properties"], name
    layer = spec["Resources"]["CommonLayer"]
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"] == [layer["Metadata"]["BuildArchitecture"]]
    functions = [r for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == len(ALL_FUNCTIONS)
    assert {(f["Properties"]["Runtime"], tuple(f["Properties"]["Architectures"])) for f in functions} == {
        (runtime, ("arm64",))
    }
    assert 'requires-python = ">=3.13,<3.14"' in (ROOT / "pyproject.toml").read_text()


# --- observability ---------------------------------------------------------------------------------


def _alarms(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in translated["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _metric(alarm: dict[str, Any], metric_id: str | None = None) -> tuple[str, str, dict[str, Any]]:
    """(namespace, metric, dimensions) of a plain alarm or of one query of a metric-math alarm."""
    if metric_id is None:
        return alarm["Namespace"], alarm["MetricName"], {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    query = next(q for q in alarm["Metrics"] if q["Id"] == metric_id)["MetricStat"]["Metric"]
    return query["Namespace"], query["MetricName"], {d["Name"]: d["Value"] for d in query["Dimensions"]}


def test_every_function_has_error_and_throttle_alarms_and_a_log_group_with_retention(
    translated: dict[str, Any],
) -> None:
    resources, alarms = translated["Resources"], _alarms(translated)
    for name in ALL_FUNCTIONS:
        for metric in ("Errors", "Throttles"):
            alarm = alarms[f"{name}{metric}Alarm"]
            assert _metric(alarm) == ("AWS/Lambda", metric, {"FunctionName": {"Ref": name}}), name
            assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        log_group = resources[name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[log_group]["Type"] == "AWS::Logs::LogGroup"
        assert resources[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


SERVICE = {"service": "cart-api"}  # Powertools' dimension on the CartApi namespace
API = {"ApiId": {"Ref": "HttpApi"}, "Stage": "$default"}


def test_the_alarms_watch_the_right_metrics(translated: dict[str, Any]) -> None:
    alarms = _alarms(translated)
    assert _metric(alarms["ApiServerErrorRateAlarm"], "errors") == ("AWS/ApiGateway", "5xx", API)
    assert _metric(alarms["ApiServerErrorRateAlarm"], "requests") == ("AWS/ApiGateway", "Count", API)
    assert (
        "errors / requests"
        in next(q for q in alarms["ApiServerErrorRateAlarm"]["Metrics"] if q["Id"] == "rate")["Expression"]
    )
    latency = alarms["ApiLatencyP95Alarm"]
    assert _metric(latency) == ("AWS/ApiGateway", "Latency", API) and latency["ExtendedStatistic"] == "p95"
    assert _metric(alarms["SweepDeadLetterAlarm"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": {"Fn::GetAtt": ["ExpireCartsDeadLetterQueue", "QueueName"]}},
    )
    assert _metric(alarms["SweepIncompleteAlarm"]) == ("CartApi", "SweepIncomplete", SERVICE)
    near = alarms["SweepNearTimeoutAlarm"]
    assert _metric(near) == ("AWS/Lambda", "Duration", {"FunctionName": {"Ref": "ExpireCartsFunction"}})
    sweep_timeout = translated["Resources"]["ExpireCartsFunction"]["Properties"]["Timeout"]
    assert near["Statistic"] == "Maximum" and near["Threshold"] == 0.8 * sweep_timeout * 1000
    assert _metric(alarms["SignInMergeBudgetAlarm"]) == ("CartApi", "SignInMerge_timed_out", SERVICE)
    assert _metric(alarms["DatabaseUnavailableAlarm"]) == ("CartApi", "DatabaseUnavailable", SERVICE)
    sync = alarms["SyncFailureRateAlarm"]
    assert _metric(sync, "failures") == ("CartApi", "SyncFailures", SERVICE)
    assert _metric(sync, "syncs") == ("CartApi", "SyncRequests", SERVICE)
    assert sync["Threshold"] == 5 and sync["ComparisonOperator"] == "GreaterThanThreshold"
    expiry = alarms["ReservationExpiryRateAlarm"]
    assert _metric(expiry, "ended") == ("CartApi", "CheckoutsPurged", SERVICE)
    assert _metric(expiry, "reserved") == ("CartApi", "CheckoutsReserved", SERVICE)
    assert expiry["Threshold"] == 1
    spike = alarms["AbandonedCartsSpikeAlarm"]
    assert _metric(spike, "abandoned") == ("CartApi", "CartsMarkedAbandoned", SERVICE)
    assert spike["ThresholdMetricId"] == "band" and "ANOMALY_DETECTION_BAND" in str(spike["Metrics"])
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_the_metrics_the_alarms_read_are_the_ones_the_layer_emits() -> None:
    """A renamed metric would leave its alarm watching nothing."""
    sources = "\n".join(p.read_text() for p in (ROOT / "layers" / "common" / "cart_common").glob("*.py"))
    for metric in (
        "DatabaseUnavailable", "SyncFailures", "SyncRequests", "CheckoutsReserved", "CartValue",
        "StockValidationFailures", "SweepIncomplete", "CheckoutsPurged", "CartsMarkedAbandoned", "CartOperations",
    ):  # fmt: skip
        assert f'"{metric}"' in sources, metric
    assert 'f"SignInMerge_{result}"' in sources and '"timed_out"' in sources


def test_access_logs_topic_and_dashboard(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage")["Properties"]
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    access_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert {"requestId", "routeKey", "status", "responseLatency"} <= set(access_format)
    assert not any("header" in value.lower() for value in access_format.values()), "no headers (tokens) in logs"
    assert stage["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    assert resources["AlarmEmailSubscription"]["Properties"]["Protocol"] == "email"
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(body)
    titles = " | ".join(w["properties"]["title"] for w in dashboard["widgets"]).lower()
    for wanted in ("operations per second", "average cart value", "abandonment rate", "sync failures",
                   "stock validation failures", "latency per route"):  # fmt: skip
        assert wanted in titles, wanted


# --- user pool, rollout, concurrency ----------------------------------------------------------------


def test_the_user_pool_outlives_the_stack(translated: dict[str, Any]) -> None:
    pool = translated["Resources"]["UserPool"]
    assert pool["DeletionPolicy"] == "Retain" and pool["UpdateReplacePolicy"] == "Retain"
    props = pool["Properties"]
    assert props["DeletionProtection"] == "ACTIVE"
    assert props["Policies"]["PasswordPolicy"]["MinimumLength"] >= 10
    assert props["MfaConfiguration"] == {"Ref": "UserPoolMfa"}
    assert props["UserPoolAddOns"]["Fn::If"][1] == {"AdvancedSecurityMode": {"Ref": "UserPoolThreatProtection"}}
    # The trigger and its permission are the sign-in merge function's live alias.
    assert props["LambdaConfig"]["PostAuthentication"]["Fn::Sub"].endswith("-sign-in-merge:live")
    permission = translated["Resources"]["SignInMergeTriggerPermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "SignInMergeFunctionAliaslive"}


def test_every_function_rolls_out_behind_an_alias_after_the_migrations(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    for name in [*API_FUNCTIONS, "ExpireCartsFunction"]:
        assert resources[f"{name}Aliaslive"]["Type"] == "AWS::Lambda::Alias", name
        assert "Migrations" in (resources[name].get("DependsOn") or []), name
        assert "ReservedConcurrentExecutions" in resources[name]["Properties"], name
    groups = {k: r for k, r in resources.items() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"}
    assert len(groups) == len(API_FUNCTIONS) + 1  # the migrations run before traffic, not behind a canary
    for group in groups.values():
        alarms = group["Properties"]["AlarmConfiguration"]
        assert alarms["Enabled"] is True
        assert [a["Name"]["Fn::Sub"] for a in alarms["Alarms"]] == [
            "${AWS::StackName}-api-5xx-rate", "${AWS::StackName}-api-p95-latency",
            "${AWS::StackName}-database-unavailable",
        ]  # fmt: skip
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["Properties"]["AutoRollbackConfiguration"]["Events"]
    names = {r["Properties"].get("AlarmName", {}).get("Fn::Sub") for r in resources.values()
             if r["Type"] == "AWS::CloudWatch::Alarm"}  # fmt: skip
    assert {"${AWS::StackName}-api-5xx-rate", "${AWS::StackName}-api-p95-latency"} <= names
    migrations = resources["Migrations"]
    assert migrations["Type"] == "Custom::Migrations"
    assert migrations["Properties"]["ServiceToken"] == {"Ref": "MigrateFunctionAliaslive"}
    assert migrations["Properties"]["Version"]["Ref"].startswith("MigrateFunctionVersion")
    migrate = resources["MigrateFunction"]["Properties"]
    assert migrate["Timeout"] == 900
    assert migrate["ReservedConcurrentExecutions"] == {
        "Fn::If": ["MigrationConcurrencyUnreserved", {"Ref": "AWS::NoValue"}, {"Ref": "MigrationReservedConcurrency"}]
    }
    env = migrate["Environment"]["Variables"]
    assert env["MIGRATION_STATEMENT_TIMEOUT_MS"] == {"Ref": "MigrationStatementTimeoutMs"}
    assert env["DB_STATEMENT_TIMEOUT_MS"] == "5000"  # the API's; the migrations set their own
    snapstart = resources["GetCartFunction"]["Properties"]["SnapStart"]["ApplyOn"]
    assert snapstart == {"Fn::If": ["SnapStartOn", "PublishedVersions", "None"]}
    assert migrate["SnapStart"] == {"ApplyOn": "None"}


def test_created_database_mode(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    created = {k for k, r in resources.items() if r.get("Condition") in ("CreateDb", "CreateDbWithSessionParameter")}
    assert {"Vpc", "PrivateSubnetA", "PrivateSubnetB", "NatGateway", "SecretsManagerEndpoint", "DbCluster",
            "DbInstance", "DbProxy", "DbProxyTargetGroup"} <= created  # fmt: skip
    azs = {json.dumps(resources[s]["Properties"]["AvailabilityZone"]) for s in ("PrivateSubnetA", "PrivateSubnetB")}
    assert len(azs) == 2
    cluster = resources["DbCluster"]
    assert cluster["DeletionPolicy"] == "Snapshot" and cluster["UpdateReplacePolicy"] == "Snapshot"
    props = cluster["Properties"]
    assert props["Engine"] == "aurora-postgresql" and props["StorageEncrypted"] is True
    assert props["DeletionProtection"] == {"Fn::If": ["DbDeletionProtectionOn", True, False]}
    assert props["BackupRetentionPeriod"] >= 7
    assert props["ManageMasterUserPassword"] is True and props["EnableIAMDatabaseAuthentication"] is True
    assert props["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": {"Ref": "DbMinCapacity"}, "MaxCapacity": {"Ref": "DbMaxCapacity"}
    }  # fmt: skip
    assert resources["DbInstance"]["Properties"]["DBInstanceClass"] == "db.serverless"
    proxy = resources["DbProxy"]["Properties"]
    assert proxy["RequireTLS"] is True and {auth["IAMAuth"] for auth in proxy["Auth"]} == {"REQUIRED"}
    env = resources["GetCartFunction"]["Properties"]["Environment"]["Variables"]
    assert env["DB_SSLMODE"] == {"Fn::If": ["CreateDb", "verify-full", {"Ref": "DbSslMode"}]}
    assert env["DB_IAM_AUTH"] == {"Fn::If": ["CreateDb", "true", "false"]}
    assert env["DB_HOST"] == {"Fn::If": ["CreateDb", {"Fn::GetAtt": ["DbProxy", "Endpoint"]}, {"Ref": "DbHost"}]}
    statement = resources["DatabaseAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Fn::If"]
    assert statement[0] == "ExistingDb" and statement[2]["Action"] == "rds-db:connect"


def test_outputs_a_storefront_needs(translated: dict[str, Any]) -> None:
    outputs = translated["Outputs"]
    assert {"ApiUrl", "UserPoolId", "UserPoolClientId", "Region", "AlarmTopicArn", "DashboardName"} <= set(outputs)
    assert outputs["Region"]["Value"] == {"Ref": "AWS::Region"}


# The functions whose change can create a guest cart (carts.py's ``creates=True``): only they count
# new guest carts per client address, so only they read the trusted forwarder key.
GUEST_CART_CREATORS = {"AddItemFunction", "SyncCartFunction"}


def test_the_forwarder_key_is_generated_and_read_only_by_the_functions_that_create_guest_carts(
    translated: dict[str, Any],
) -> None:
    resources = translated["Resources"]
    secret = resources["ForwarderKeySecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32 and generated["ExcludePunctuation"] is True  # no comma: one key
    assert "SecretString" not in secret["Properties"]  # nobody typed it into the template
    (statement,) = resources["ForwarderKeyPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                         "Resource": {"Ref": "ForwarderKeySecret"}}  # fmt: skip
    readers = {name for name in API_FUNCTIONS
               if any(arn == {"Ref": "ForwarderKeyPolicy"} for arn in resources[f"{name}Role"]["Properties"].get("ManagedPolicyArns", []))}  # fmt: skip
    told = {name for name in API_FUNCTIONS
            if "TRUSTED_FORWARDER_KEY_SECRET_ARN" in resources[name]["Properties"]["Environment"]["Variables"]}  # fmt: skip
    assert readers == told == GUEST_CART_CREATORS
    env = resources["AddItemFunction"]["Properties"]["Environment"]["Variables"]
    assert env["TRUSTED_FORWARDER_KEY_SECRET_ARN"] == {"Ref": "ForwarderKeySecret"}
    assert env["TRUSTED_FORWARDER_KEYS"] == ""  # declared for sam local invoke's env-vars only
    assert translated["Outputs"]["ForwarderKeySecretArn"]["Value"] == {"Ref": "ForwarderKeySecret"}
    # Browsers never send the forwarder's headers: CORS does not let them
    allowed = resources["HttpApi"]["Properties"]["Body"]["x-amazon-apigateway-cors"]["allowHeaders"]
    assert not {"x-cart-forwarder-key", "x-cart-client-address"} & {h.lower() for h in allowed}


def test_samconfig_has_dev_and_prod_with_tags() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert f"environment={env}" in deploy["tags"] and "project=cart-api" in deploy["tags"], env
        assert f"Environment={env}" in " ".join(deploy["parameter_overrides"]), env
        assert deploy["stack_name"].endswith(env)
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
