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
    "ListAbandonedCartsFunction", "SignInMergeFunction", "RecoverCartFunction",
]  # fmt: skip
API_FUNCTIONS += ["AcceptPricesFunction"]  # issue 22: changed prices accepted on the server
API_FUNCTIONS += ["CompleteCheckoutFunction", "ReleaseCheckoutFunction"]  # the order service's IAM routes
API_FUNCTIONS += ["AdminCatalogFunction", "EraseUserDataFunction", "CatalogFunction"]  # issue 21: admin, public catalog
API_FUNCTIONS += ["ListsFunction", "SharedCartFunction"]  # issue 23: lists, share links
API_FUNCTIONS += ["CartAnalyticsFunction"]  # issue 23: the merchant's cart analytics
API_FUNCTIONS += ["BulkChangeFunction", "ReorderFunction"]  # issue 23: bulk changes, buy again
# Invoked by EventBridge: the sweep, the order service's events, the outbox relay (each behind a canary).
BACKGROUND_FUNCTIONS = ["ExpireCartsFunction", "CheckoutEventsFunction", "PublishEventsFunction"]
BACKGROUND_FUNCTIONS += ["CatalogEventsFunction", "ImportCatalogFunction"]  # the shop's catalog (issue 21)
ALL_FUNCTIONS = [*API_FUNCTIONS, *BACKGROUND_FUNCTIONS, "MigrateFunction"]
# Every function that signs in as the application user: all but the migrations.
APP_USER_FUNCTIONS = [*API_FUNCTIONS, *BACKGROUND_FUNCTIONS]


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
    for name in [*API_FUNCTIONS, *BACKGROUND_FUNCTIONS]:
        assert resources[f"{name}Aliaslive"]["Type"] == "AWS::Lambda::Alias", name
        assert "Migrations" in (resources[name].get("DependsOn") or []), name
        assert "ReservedConcurrentExecutions" in resources[name]["Properties"], name
    groups = {k: r for k, r in resources.items() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"}
    # the migrations run before traffic, not behind a canary
    assert len(groups) == len(API_FUNCTIONS) + len(BACKGROUND_FUNCTIONS)
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
GUEST_CART_CREATORS = {
    "AddItemFunction", "SyncCartFunction", "ListsFunction", "SharedCartFunction", "BulkChangeFunction",
}  # fmt: skip


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


# --- the deploy rehearsal: a stack that creates, rolls back and deletes (issue 19) -------------------
# Each test reads the SAM-translated template (what CloudFormation receives) and names the AWS
# documentation the fact follows.

NO_VALUE = {"Ref": "AWS::NoValue"}


def _parameters(translated: dict[str, Any], **values: str) -> dict[str, str]:
    """Every parameter's default as CloudFormation passes it (a string), with ``values`` on top."""
    defaults = {name: str(spec.get("Default", "")) for name, spec in translated["Parameters"].items()}
    return {**defaults, **values}


def _evaluate(expression: Any, translated: dict[str, Any], parameters: dict[str, str]) -> Any:
    """A condition or rule expression, as CloudFormation evaluates it (the functions this template's
    Conditions and Rules use: Ref, Condition, Fn::Equals/Not/And/Or/Contains; values compared as
    strings, as CloudFormation passes parameters)."""

    def value(node: Any) -> Any:
        if isinstance(node, list):
            return [value(n) for n in node]
        if not isinstance(node, dict):
            return str(node).lower() if isinstance(node, bool) else str(node)
        ((function, argument),) = node.items()
        if function == "Ref":
            return parameters[argument]
        if function == "Condition":
            return value(translated["Conditions"][argument])
        if function == "Fn::Equals":
            left, right = value(argument)
            return left == right
        if function == "Fn::Not":
            return not value(argument[0])
        if function == "Fn::And":
            return all(value(a) for a in argument)
        if function == "Fn::Or":
            return any(value(a) for a in argument)
        if function == "Fn::Contains":
            values, item = value(argument)
            return item in values
        raise AssertionError(f"not evaluated here: {function}")

    return value(expression)


def _rule_passes(translated: dict[str, Any], rule: str, parameters: dict[str, str]) -> bool:
    """CloudFormation's verdict on one rule: true when its condition does not hold or every
    assertion does (CloudFormation User Guide, "Template Rules syntax")."""
    spec = translated["Rules"][rule]
    if "RuleCondition" in spec and not _evaluate(spec["RuleCondition"], translated, parameters):
        return True
    return all(_evaluate(a["Assert"], translated, parameters) for a in spec["Assertions"])


def _refs(node: Any) -> set[str]:
    """Every resource or parameter a piece of template names (Ref, Fn::GetAtt, Fn::Sub's ${X})."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _refs(item)
    elif isinstance(node, dict):
        for key, item in node.items():
            if key == "Ref":
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= _refs(item[1]) if isinstance(item, list) else set()
            else:
                found |= _refs(item)
    return found


def _depends_on(translated: dict[str, Any], name: str) -> set[str]:
    """Every resource ``name`` waits for on create (and that is deleted after it): its references and
    DependsOn, transitively."""
    resources = translated["Resources"]
    seen: set[str] = set()
    todo = [name]
    while todo:
        resource = resources[todo.pop()]
        direct = _refs(resource.get("Properties", {})) | set(
            [resource["DependsOn"]] if isinstance(resource.get("DependsOn"), str) else resource.get("DependsOn", [])
        )
        for found in direct & set(resources) - seen:
            seen.add(found)
            todo.append(found)
    return seen


def test_the_clusters_deletion_protection_is_on_in_prod_and_off_in_dev(translated: dict[str, Any]) -> None:
    """Off, a failed first create rolls back and a dev stack deletes (CloudFormation cannot delete a
    cluster with deletion protection: ROLLBACK_FAILED, holding its VPC). Aurora User Guide, "Deletion
    protection for Aurora clusters"; CloudFormation User Guide, "DeletionPolicy attribute" (the
    snapshot is taken either way)."""
    cluster = translated["Resources"]["DbCluster"]
    assert cluster["Properties"]["DeletionProtection"] == {"Fn::If": ["DbDeletionProtectionOn", True, False]}
    assert cluster["DeletionPolicy"] == "Snapshot"
    condition = translated["Conditions"]["DbDeletionProtectionOn"]
    verdicts = {
        (env, choice): _evaluate(condition, translated, _parameters(translated, Environment=env, DbDeletionProtection=choice))
        for env in ("dev", "prod") for choice in ("auto", "true", "false")
    }  # fmt: skip
    assert verdicts == {
        ("dev", "auto"): False, ("prod", "auto"): True, ("dev", "true"): True, ("prod", "true"): True,
        ("dev", "false"): False, ("prod", "false"): False,
    }  # fmt: skip
    assert translated["Parameters"]["DbDeletionProtection"]["Default"] == "auto"


def test_every_reserved_concurrency_can_be_unset_and_dev_unsets_them_all(translated: dict[str, Any]) -> None:
    """A reservation must leave the account's unreserved minimum (Lambda Developer Guide, "Configuring
    reserved concurrency for a function"): on a new account (a limit of 10) any reservation fails the
    create. So each one is a parameter whose 0 leaves the property out (AWS::NoValue)."""
    import tomllib

    functions = {k: r for k, r in translated["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == set(ALL_FUNCTIONS)
    parameters = set()
    for name, function in functions.items():
        reserved = function["Properties"]["ReservedConcurrentExecutions"]
        condition, unset, value = reserved["Fn::If"]
        assert unset == NO_VALUE and set(value) == {"Ref"}, name
        parameter = value["Ref"]
        assert translated["Conditions"][condition] == {"Fn::Equals": [{"Ref": parameter}, 0]}, name
        parameters.add(parameter)
    assert {"SweepReservedConcurrency", "MigrationReservedConcurrency", "SignInReservedConcurrency"} <= parameters
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    dev = dict(o.split("=", 1) for o in config["dev"]["deploy"]["parameters"]["parameter_overrides"])
    assert {p: dev.get(p) for p in parameters} == dict.fromkeys(parameters, "0")


def test_the_proxy_target_group_waits_for_the_writer_instance(translated: dict[str, Any]) -> None:
    """RegisterDBProxyTargets fails with InvalidDBInstanceState while the cluster's instance is still
    being created (RDS API Reference, "RegisterDBProxyTargets"; the AWS CDK adds the same dependency)."""
    group = translated["Resources"]["DbProxyTargetGroup"]
    assert "DbInstance" in ([group["DependsOn"]] if isinstance(group["DependsOn"], str) else group["DependsOn"])
    assert "DbInstance" in _depends_on(translated, "Migrations")


def test_the_alarm_topic_key_lets_cloudwatch_publish(translated: dict[str, Any]) -> None:
    """CloudWatch publishes to an encrypted topic only through a customer managed key whose policy
    grants it kms:GenerateDataKey* and kms:Decrypt; with alias/aws/sns no alarm arrives (SNS Developer
    Guide, "Encryption at rest": "Enable compatibility between event sources from AWS services and
    encrypted topics")."""
    resources = translated["Resources"]
    topic = resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}
    key = resources["AlarmTopicKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Effect"] == "Allow"
    assert set(cloudwatch["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (admin,) = [s for s in statements if "AWS" in s["Principal"]]
    assert admin["Principal"]["AWS"]["Fn::Sub"].endswith(":iam::${AWS::AccountId}:root")
    assert admin["Action"] == "kms:*"  # the account keeps control of the key (KMS: "Default key policy")
    assert len(statements) == 2
    publish = resources["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and publish["Action"] == "sns:Publish"


# What the Migrations answer and connection travel over in the created VPC: its answer is an HTTPS PUT
# to a pre-signed S3 URL (out through the NAT gateway and the internet gateway), the application
# secret comes through the Secrets Manager endpoint, the database through the egress rules.
ANSWER_PATH = {
    "PrivateDefaultRoute", "PrivateSubnetARoutes", "PrivateSubnetBRoutes", "NatGateway", "NatAddress",
    "PublicDefaultRoute", "PublicSubnetARoutes", "InternetGatewayAttachment", "SecretsManagerEndpoint",
    "FunctionToProxyEgress", "ProxyToDatabaseEgress", "DbInstance", "DbProxyTargetGroup",
}  # fmt: skip


def test_the_migrations_resource_comes_after_the_routes_its_answer_travels_over(translated: dict[str, Any]) -> None:
    """CloudFormation deletes a resource before what it depends on. Without these references a stack
    delete could remove the NAT route before the custom resource's Delete is answered, and wait for
    the answer until its service timeout (CloudFormation User Guide, "Custom resources": the function
    must answer on the pre-signed URL; "DependsOn attribute": deletion order). DependsOn cannot be
    conditional, so the references are properties, empty with an existing database."""
    resources = translated["Resources"]
    waits_for = _depends_on(translated, "Migrations")
    assert waits_for >= ANSWER_PATH, ANSWER_PATH - waits_for
    # Every route, association, gateway, endpoint and egress rule of the created VPC, but the SSM
    # endpoint (the session key as an SSM parameter: the migrations never read it) and the events one.
    network = {k for k, r in resources.items() if r["Type"] in (
        "AWS::EC2::Route", "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::NatGateway",
        "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroupEgress")}  # fmt: skip
    assert network - waits_for == {"SsmEndpoint", "EventsEndpoint"}  # nor do they publish events
    properties = resources["Migrations"]["Properties"]
    for name, value in properties.items():
        if name not in ("ServiceToken", "ServiceTimeout", "Version", "Database"):
            condition, created, existing = value["Fn::If"]
            assert condition == "CreateDb" and existing == "" and _refs(created) <= ANSWER_PATH, name


def test_the_migrations_answer_well_within_an_hour(translated: dict[str, Any]) -> None:
    """ServiceTimeout: how long CloudFormation waits for a custom resource's answer (1-3,600 s, 3,600
    by default; CloudFormation User Guide, "AWS::CloudFormation::CustomResource"). Above the function's
    timeout, so a run that reports in its last seconds is heard; well under an hour. The function keeps
    30 s back to report (db/migrate.py's _REPORT_MARGIN_MS)."""
    import migrate

    resources = translated["Resources"]
    service_timeout = int(resources["Migrations"]["Properties"]["ServiceTimeout"])
    function_timeout = resources["MigrateFunction"]["Properties"]["Timeout"]
    assert function_timeout < service_timeout <= 1800
    longest = int(translated["Parameters"]["MigrationStatementTimeoutMs"]["MaxValue"])
    assert longest + migrate._REPORT_MARGIN_MS < function_timeout * 1000


MIN_CAPACITY, MAX_CAPACITY = "DbMinCapacity", "DbMaxCapacity"


def test_the_capacity_rules_accept_exactly_half_steps_with_min_up_to_max(translated: dict[str, Any]) -> None:
    """Aurora Serverless v2 capacity is set in 0.5 ACU steps with the minimum at most the maximum
    (Aurora User Guide, "Aurora Serverless v2 capacity"); a wrong pair fails only when the cluster is
    created, after the VPC and NAT gateway. Rules cannot compare numbers, so the rule is one assertion
    per listed maximum; evaluated here for every pair of the listed values."""
    spec = translated["Parameters"]
    mins, maxes = spec[MIN_CAPACITY]["AllowedValues"], spec[MAX_CAPACITY]["AllowedValues"]
    for value in [*mins, *maxes]:
        assert (float(value) * 2).is_integer() and float(value) > 0, value
    # 0 is not offered: behind RDS Proxy the cluster never auto-pauses (Aurora User Guide, "Situations
    # where Aurora Serverless v2 doesn't auto-pause"), and this stack always has a proxy.
    assert "0" not in mins and "auto-pause" in spec[MIN_CAPACITY]["Description"]
    rule = "CapacityInHalfStepsMinUpToMax"
    verdicts = {
        (low, high): _rule_passes(translated, rule, _parameters(translated, DbMinCapacity=low, DbMaxCapacity=high))
        for low in mins for high in maxes
    }  # fmt: skip
    assert verdicts == {(low, high): float(low) <= float(high) for low in mins for high in maxes}
    assert any(verdicts.values()) and not all(verdicts.values())
    # A spelling the lists do not hold (2.0 for 2) is refused rather than slipping past every assertion.
    assert not _rule_passes(translated, rule, _parameters(translated, DbMinCapacity="0.5", DbMaxCapacity="2.0"))
    # An existing database ignores both.
    assert _rule_passes(
        translated, rule, _parameters(translated, CreateDatabase="false", DbMinCapacity="8", DbMaxCapacity="1")
    )
    assert _rule_passes(translated, rule, _parameters(translated))  # the defaults


def _variables(translated: dict[str, Any], name: str) -> dict[str, Any]:
    variables: dict[str, Any] = translated["Resources"][name]["Properties"]["Environment"]["Variables"]
    return variables


def _managed_policies(translated: dict[str, Any], name: str) -> list[Any]:
    """The template's own managed policies on a function's role (not AWS's, which SAM adds)."""
    role = translated["Resources"][f"{name}Role"]["Properties"]
    return [arn for arn in role.get("ManagedPolicyArns", []) if isinstance(arn, dict) and arn != NO_VALUE]


def test_the_api_signs_in_as_the_application_user_and_only_the_migrations_as_the_master(
    translated: dict[str, Any],
) -> None:
    """Least privilege: the functions sign in through RDS Proxy with IAM as the application user, which
    the migrations keep to row privileges; rds-db:connect names the proxy and the user (Aurora User
    Guide, "Creating and using an IAM policy for IAM database access" and "Setting up IAM
    authentication for RDS Proxy": each secret registered with the proxy is one user)."""
    resources = translated["Resources"]
    for name in APP_USER_FUNCTIONS:
        env = _variables(translated, name)
        assert env["DB_USER"] == {"Fn::If": ["CreateDb", {"Ref": "DbAppUsername"}, NO_VALUE]}, name
        assert env["DB_SECRET_ARN"] == {
            "Fn::If": ["ExistingDb", {"Fn::If": ["ExistingDbWithAppSecret", {"Ref": "DbAppSecretArn"},
                                                 {"Ref": "DbSecretArn"}]}, NO_VALUE]
        }, name  # fmt: skip
        assert "APP_DB_SECRET_ARN" not in env, name
        policies = _managed_policies(translated, name)
        assert {"Ref": "DatabaseAccessPolicy"} in policies and {"Ref": "MigrationDatabaseAccessPolicy"} not in policies
    (app,) = resources["DatabaseAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    condition, existing, created = app["Fn::If"]
    assert condition == "ExistingDb" and created["Action"] == "rds-db:connect"
    assert created["Resource"]["Fn::Sub"][0].endswith(":dbuser:${ProxyId}/${DbAppUsername}")
    assert existing["Resource"] == {
        "Fn::If": ["ExistingDbWithAppSecret", {"Ref": "DbAppSecretArn"}, {"Ref": "DbSecretArn"}]
    }

    migrate = _variables(translated, "MigrateFunction")
    assert migrate["DB_USER"] == {"Fn::If": ["CreateDb", {"Ref": "DbUsername"}, NO_VALUE]}
    assert migrate["DB_SECRET_ARN"] == {"Fn::If": ["ExistingDb", {"Ref": "DbSecretArn"}, NO_VALUE]}
    assert migrate["APP_DB_SECRET_ARN"] == {
        "Fn::If": ["CreateDb", {"Ref": "DbAppSecret"}, {"Fn::If": ["ExistingDbWithAppSecret", {"Ref": "DbAppSecretArn"}, NO_VALUE]}]
    }  # fmt: skip
    assert migrate["DB_STATEMENT_TIMEOUT_MS"] == "5000"  # what db/app_role.py gives the application role
    assert _managed_policies(translated, "MigrateFunction") == [{"Ref": "MigrationDatabaseAccessPolicy"}]
    owner, app_secret = resources["MigrationDatabaseAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert owner["Fn::If"][2]["Resource"]["Fn::Sub"][0].endswith(":dbuser:${ProxyId}/${DbUsername}")
    assert owner["Fn::If"][1]["Resource"] == {"Ref": "DbSecretArn"}
    assert app_secret["Fn::If"][1]["Resource"] == {"Ref": "DbAppSecret"}

    # The generated secret: the username from the parameter, a password with nothing to escape.
    secret = resources["DbAppSecret"]
    assert secret["Condition"] == "CreateDb"
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["SecretStringTemplate"] == {"Fn::Sub": '{"username": "${DbAppUsername}"}'}
    assert generated["GenerateStringKey"] == "password" and generated["ExcludePunctuation"] is True
    assert generated["PasswordLength"] >= 32 and generated["IncludeSpace"] is False
    assert translated["Parameters"]["DbAppUsername"]["Default"] == "cart_app"
    # Registered with the proxy beside the master's, IAM required for both; the proxy may read both.
    auth = resources["DbProxy"]["Properties"]["Auth"]
    assert [a["SecretArn"] for a in auth] == [
        {"Fn::GetAtt": ["DbCluster", "MasterUserSecret.SecretArn"]}, {"Ref": "DbAppSecret"}
    ]  # fmt: skip
    assert all(a["IAMAuth"] == "REQUIRED" and a["AuthScheme"] == "SECRETS" for a in auth)
    proxy_reads = resources["DbProxyRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert proxy_reads["Resource"] == [a["SecretArn"] for a in auth]

    # Existing database: who reads which secret, with and without DbAppSecretArn.
    existing_db = {**EXISTING_DATABASE, "DbAppSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-x"}
    with_app = _parameters(translated, **existing_db)
    without_app = _parameters(translated, **{**existing_db, "DbAppSecretArn": ""})
    condition = translated["Conditions"]["ExistingDbWithAppSecret"]
    assert _evaluate(condition, translated, with_app) and not _evaluate(condition, translated, without_app)
    assert _rule_passes(translated, "AppSecretOnlyForExistingDatabase", with_app)
    created_with_app = _parameters(translated, DbAppSecretArn=existing_db["DbAppSecretArn"])
    assert not _rule_passes(translated, "AppSecretOnlyForExistingDatabase", created_with_app)


def test_the_sign_in_trigger_is_its_own_function(translated: dict[str, Any]) -> None:
    """Cognito's Post Authentication trigger in its own function: its own reservation (a burst on POST
    /cart/merge cannot throttle sign-ins), its own log group and alarms (the test above), its own timeout
    within Cognito's 5 s (Cognito Developer Guide, "Customizing user pool workflows with Lambda
    triggers"). The pool and the invoke permission name its live alias."""
    from cart_common import trigger
    from local import stack, template

    resources = translated["Resources"]
    function = resources["SignInMergeFunction"]["Properties"]
    assert function["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-sign-in-merge"}
    assert function["ReservedConcurrentExecutions"]["Fn::If"][2] == {"Ref": "SignInReservedConcurrency"}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "SignInMergeFunctionLogs"}
    pool = resources["UserPool"]["Properties"]["LambdaConfig"]["PostAuthentication"]["Fn::Sub"]
    assert pool.endswith(":function:${AWS::StackName}-sign-in-merge:live")
    permission = resources["SignInMergeTriggerPermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "SignInMergeFunctionAliaslive"}
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert translated["Outputs"]["SignInMergeFunctionArn"]["Value"] == {"Ref": "SignInMergeFunctionAliaslive"}
    # MergeCartFunction is the route only: its own reservation, no trigger dispatch in its code.
    merge = resources["MergeCartFunction"]["Properties"]
    assert merge["ReservedConcurrentExecutions"]["Fn::If"][2] == {"Ref": "MergeReservedConcurrency"}
    assert "triggerSource" not in (ROOT / "functions" / "merge_cart" / "app.py").read_text()
    functions = {f.name: f for f in template.functions()}
    assert functions["SignInMergeFunction"].code_dir == ROOT / "functions" / "sign_in_merge"
    assert stack.load_function(functions["SignInMergeFunction"]) is trigger.lambda_handler


def _settings(env: dict[str, Any]) -> Any:
    """The layer's Settings of a function's environment (its plain values; intrinsics left out)."""
    from cart_common.config import Settings

    fields = {k.lower(): v for k, v in env.items() if isinstance(v, str) and k.lower() in Settings.model_fields}
    return Settings.model_validate(fields)


def test_every_function_times_out_after_its_database_budget(translated: dict[str, Any]) -> None:
    """A function's timeout is above its connect and statement budget, so a slow database is answered
    (a 503 problem, a trigger that lets sign-in go on, a migration that reports FAILED) before Lambda
    ends the invocation (Lambda Developer Guide, "Configure Lambda function timeout"); the trigger's
    also within Cognito's 5 s (Cognito Developer Guide, "Customizing user pool workflows with Lambda
    triggers": Cognito waits 5 s and then retries or fails the sign-in)."""
    import migrate

    resources = translated["Resources"]
    for name in ALL_FUNCTIONS:
        timeout = resources[name]["Properties"]["Timeout"]
        settings = _settings(_variables(translated, name))
        assert settings.db_connect_timeout_s == 3 and settings.db_statement_timeout_ms == 5000, name
        if name == "SignInMergeFunction":
            assert settings.trigger_budget_s < timeout <= 5, (name, settings.trigger_budget_s)
        elif name == "MigrateFunction":
            longest = int(translated["Parameters"]["MigrationStatementTimeoutMs"]["MaxValue"])
            budget = settings.model_copy(update={"db_statement_timeout_ms": longest}).request_budget_s
            assert budget + migrate._REPORT_MARGIN_MS / 1000 < timeout, (name, budget)
        else:
            assert settings.request_budget_s < timeout, (name, settings.request_budget_s, timeout)


def test_the_user_pool_sends_email_through_ses_when_named_and_prod_must_name_it(translated: dict[str, Any]) -> None:
    """Cognito's default email sends a few messages a day, for development; production sign-up and
    recovery go through an SES identity (Cognito Developer Guide, "Email settings for Amazon Cognito
    user pools"; EmailSendingAccount DEVELOPER with the identity's SourceArn)."""
    email = translated["Resources"]["UserPool"]["Properties"]["EmailConfiguration"]
    condition, ses, default = email["Fn::If"]
    assert condition == "UseSes" and default == {"EmailSendingAccount": "COGNITO_DEFAULT"}
    assert ses["EmailSendingAccount"] == "DEVELOPER" and ses["SourceArn"] == {"Ref": "SesIdentityArn"}
    assert ses["From"] == {"Fn::If": ["HasSesFromAddress", {"Ref": "SesFromAddress"}, NO_VALUE]}
    identity = "arn:aws:ses:us-east-1:123456789012:identity/shop.example.com"
    rule = "ProductionEmailThroughSes"
    assert not _rule_passes(translated, rule, _parameters(translated, Environment="prod"))
    assert _rule_passes(translated, rule, _parameters(translated, Environment="prod", SesIdentityArn=identity))
    assert _rule_passes(translated, rule, _parameters(translated, Environment="dev"))
    existing_pool = _parameters(translated, Environment="prod", ExistingUserPoolId="us-east-1_AbCdEf123")
    assert _rule_passes(translated, rule, existing_pool)  # its email is that pool's own business
    assert _evaluate(translated["Conditions"]["UseSes"], translated, _parameters(translated, SesIdentityArn=identity))
    assert not _evaluate(translated["Conditions"]["UseSes"], translated, _parameters(translated))
