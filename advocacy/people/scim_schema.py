"""What the SCIM endpoint speaks: the resource models (scim2-models), the discovery documents, the tolerance for
Microsoft Entra's dialect, and filters turned into SQL.

Only the attributes this app uses are kept and published (``/Schemas``): a person's userName, name, displayName,
e-mails (required), active flag and externalId; a group's displayName and members. What an identity provider sends
beyond them (phone numbers, addresses, the enterprise extension) is dropped, never stored.
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    Filter,
    Group,
    InvalidFilterException,
    Patch,
    Required,
    Resource,
    ResourceType,
    ScimFilter,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select, true

from advocacy.people.models import Team, TeamMembership
from advocacy.people.models import User as Person

MEDIA_TYPE = "application/scim+json"
MAX_RESULTS = 200  # one page at most; Okta and Entra page with startIndex and count
KEPT_USER_ATTRIBUTES = ("userName", "name", "displayName", "emails", "active")

# Entra's default dialect: capitalised ops (scim2-models reads op case-insensitively), a remove carrying the members
# to remove as its value, a filter on a value not there yet creating it; attributes we do not keep are dropped.
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore, remove_value_as_filter=ScimPolicy.RemoveValue.apply,
                    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create)


def _user_schema(published: bool) -> Any:
    schema = User.to_schema()
    schema.attributes = [a for a in schema.attributes or [] if a.name in KEPT_USER_ATTRIBUTES]
    if published:  # what we ask for; on input, an address as userName stands for a missing e-mail (Postel)
        for attribute in schema.attributes:
            if attribute.name in ("emails", "active"):  # every person here has an e-mail address and a state
                attribute.required = Required.true
            if attribute.name == "emails":
                for sub in attribute.sub_attributes or []:
                    if sub.name == "value":
                        sub.required = Required.true
    return schema


USER_SCHEMA = _user_schema(published=True)
GROUP_SCHEMA = Group.to_schema()
ScimUser: type[Resource[Any]] = Resource.from_schema(_user_schema(published=False))
ScimGroup: type[Resource[Any]] = Resource.from_schema(GROUP_SCHEMA)
USER_URN = str(USER_SCHEMA.id)
GROUP_URN = str(GROUP_SCHEMA.id)


def service_provider_config(base: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken, name="Bearer token", primary=True,
            description="The token an admin created for this identity provider (Admin → People → SCIM)")],
        meta={"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    )


def resource_types(base: str) -> list[ResourceType]:
    return [ResourceType(id=name, name=name, endpoint=f"/{name}s", schema_=urn, description=description,
                         meta={"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"})
            for name, urn, description in (("User", USER_URN, "A person who shares"),
                                           ("Group", GROUP_URN, "A team"))]


def schemas(base: str) -> list[Any]:
    out = []
    for schema in (USER_SCHEMA, GROUP_SCHEMA):
        copy = schema.model_copy()
        copy.meta = {"resourceType": "Schema", "location": f"{base}/Schemas/{schema.id}"}  # type: ignore[assignment]
        out.append(copy)
    return out


# ------------------------------------------------------------------------------------------------- filters
def _string(column: Any, op: CompareOperator, value: Any, case_exact: bool) -> ColumnElement[bool]:
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"{op.value} needs a string here")
    if not case_exact:
        column, value = func.lower(column), value.lower()
    if op == CompareOperator.eq:
        return column == value  # type: ignore[no-any-return]
    if op == CompareOperator.ne:
        return or_(column != value, column.is_(None))
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = {CompareOperator.co: f"%{escaped}%", CompareOperator.sw: f"{escaped}%",
               CompareOperator.ew: f"%{escaped}"}.get(op)
    if pattern is None:
        raise InvalidFilterException(detail=f"the {op.value} operator is not supported on this attribute")
    return column.like(pattern, escape="\\")  # type: ignore[no-any-return]


class _ToSql(FilterVisitor[ColumnElement[bool]]):
    """A parsed SCIM filter (scim2-models' tree) as a SQL condition on people or teams."""

    def __init__(self, columns: dict[str, tuple[Any, bool]], members: bool = False) -> None:
        self.columns = columns  # attribute path (lower case) -> (column, case exact)
        self.members = members

    def _column(self, path: AttrPath) -> tuple[Any, bool]:
        name = path.attr.lower() + (f".{path.sub_attr.lower()}" if path.sub_attr else "")
        if name not in self.columns:
            raise InvalidFilterException(detail=f"filtering on {name} is not supported")
        return self.columns[name]

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        name = node.attr_path.attr.lower()
        if self.members and name == "members":
            return self._member(node.op, node.value)
        column, case_exact = self._column(node.attr_path)
        if column is Person.active:
            if node.op not in (CompareOperator.eq, CompareOperator.ne) or not isinstance(node.value, bool):
                raise InvalidFilterException(detail="active takes eq or ne with true or false")
            return (column.is_(true()) if node.value == (node.op == CompareOperator.eq)  # type: ignore[no-any-return]
                    else column.is_(false()))
        if column is Person.id or column is Team.id:
            if node.op != CompareOperator.eq:
                raise InvalidFilterException(detail="id takes eq")
            return column == _int(node.value)  # type: ignore[no-any-return]
        return _string(column, node.op, node.value, case_exact)

    def _member(self, op: CompareOperator, value: Any) -> ColumnElement[bool]:
        if op != CompareOperator.eq:
            raise InvalidFilterException(detail="members takes eq")
        return exists(select(TeamMembership.user_id).where(TeamMembership.team_id == Team.id,
                                                           TeamMembership.user_id == _int(value)))

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        if self.members and node.attr_path.attr.lower() == "members":
            return exists(select(TeamMembership.user_id).where(TeamMembership.team_id == Team.id))
        column, _ = self._column(node.attr_path)
        return column.is_not(None)  # type: ignore[no-any-return]

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(t) for t in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        # emails[value eq "x"] and members[value eq "1"] read as emails.value / members.value
        inner = node.val_filter
        if isinstance(inner, Comparison) and (inner.attr_path.attr.lower() == "value"):
            flat = Comparison(attr_path=AttrPath(attr=node.attr_path.attr, sub_attr="value"), op=inner.op,
                              value=inner.value)
            return self.visit_comparison(flat)
        raise InvalidFilterException(detail="only [value …] selections are supported in filters")


def _int(value: Any) -> int:
    try:
        number = int(str(value))
    except ValueError:
        return -1  # matches nothing
    return number if 0 < number < 2**31 else -1


USER_COLUMNS = {"username": (Person.scim_user_name, False), "externalid": (Person.external_id, True),
                "id": (Person.id, True), "active": (Person.active, True), "displayname": (Person.name, False),
                "emails": (Person.email, False), "emails.value": (Person.email, False)}
GROUP_COLUMNS = {"displayname": (Team.name, False), "externalid": (Team.external_id, True), "id": (Team.id, True)}


def user_filter(text: str) -> ColumnElement[bool]:
    """``userName eq "ana@acme.test"`` (and other simple filters on users) as SQL; invalidFilter otherwise."""
    return _ToSql(USER_COLUMNS).visit(_parse(text, ScimUser))


def group_filter(text: str) -> ColumnElement[bool]:
    return _ToSql(GROUP_COLUMNS, members=True).visit(_parse(text, ScimGroup))


def _parse(text: str, model: type[Resource[Any]]) -> FilterNode:
    return ScimFilter[model](text).ast  # type: ignore[valid-type]  (raises InvalidFilterException)
