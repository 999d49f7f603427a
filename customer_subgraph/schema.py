"""The customers subgraph schema: the `Customer` entity, its queries and mutations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from customer_subgraph import repository
from customer_subgraph.repository import CustomerRecord, EmailTaken, NewCustomer
from customer_subgraph.validation import clean_email, clean_name
from subgraph_kit import Conflict, Cursors, NotFound, PageInfo, check_page_size, federated_schema
from subgraph_kit.caller import STAFF_SCOPE, Caller
from subgraph_kit.database import Database
from subgraph_kit.entities import in_order, primary_keys, wanted
from subgraph_kit.idempotency import KeyReused, clean_idempotency_key, key_reused
from subgraph_kit.pagination import DEFAULT_PAGE_SIZE, PAGE_SIZE, parse_key

CURSORS = Cursors("customer")

READ_EMAIL_SCOPE = "read:email"
"""The scope a token needs for `Customer.email` (or `staff`); a customer still reads only their
own email unless staff."""


@dataclass(slots=True)
class Context:
    """Per-request state: the database, who is calling, and the request's DataLoader."""

    database: Database
    customer_loader: DataLoader[int, Customer | None]
    caller: Caller


def make_context(database: Database, caller: Caller) -> Context:
    async def load(ids: list[int]) -> list[Customer | None]:
        found = await repository.get_by_ids(database, ids)
        return [Customer.from_record(found[i]) if i in found else None for i in ids]

    return Context(database=database, customer_loader=DataLoader(load_fn=load), caller=caller)


def _email(root: Customer, info: Info[Context, None]) -> str | None:
    info.context.caller.check_acts_for(str(root.id), "read a customer's email")
    return root.address


@strawberry.federation.type(keys=["id"], description="A customer who places orders.")
class Customer:
    id: strawberry.ID
    name: str
    email: str | None = strawberry.federation.field(
        resolver=_email,
        description="The customer's email: for the customer themself (with the `read:email` "
        "scope) or staff; anyone else gets null and FORBIDDEN.",
        requires_scopes=[[READ_EMAIL_SCOPE], [STAFF_SCOPE]],
    )
    created_at: datetime = strawberry.field(description="When the customer was created (UTC).")
    address: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: CustomerRecord) -> Customer:
        return cls(
            id=strawberry.ID(str(record.id)),
            name=record.name,
            address=record.email,
            created_at=record.created_at,
        )

    @classmethod
    async def resolve_references(
        cls, info: Info[Context, None], representations: list[dict[str, Any]]
    ) -> list[object]:
        """All of an `_entities` request's customers, in one query."""
        keys = primary_keys("Customer", representations)
        found = await repository.get_by_ids(info.context.database, wanted(keys))
        return in_order(keys, found, cls.from_record)


@strawberry.type
class CustomerEdge:
    cursor: str
    node: Customer


@strawberry.type(description="A page of customers, oldest first.")
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo

    @strawberry.field(description="How many customers there are in all.")
    async def total_count(self, info: Info[Context, None]) -> int:
        return await repository.count(info.context.database)


@strawberry.input
class CreateCustomerInput:
    name: str
    email: str
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Makes a retry safe: the same input with the same key (1 to 255 printable "
        "characters, e.g. a UUID) returns the customer the key first created, instead of a "
        "CONFLICT on the email. The same key with other input is refused (CONFLICT).",
    )


@strawberry.input(description="The fields to change; a field left out keeps its value.")
class UpdateCustomerInput:
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET


@strawberry.type
class Query:
    @strawberry.federation.field(
        description="The customer the request's token is for (its `sub`), or null.",
        authenticated=True,
    )
    async def me(self, info: Info[Context, None]) -> Customer | None:
        subject = info.context.caller.customer_id
        key = None if subject is None else parse_key(subject)
        return None if key is None else await info.context.customer_loader.load(key)

    @strawberry.field(description="The customer with this id, or null.")
    async def customer(self, info: Info[Context, None], id: strawberry.ID) -> Customer | None:
        key = parse_key(id)
        return None if key is None else await info.context.customer_loader.load(key)

    @strawberry.field(
        description="Customers in creation order, `first` at a time after `after`.",
        directives=[PAGE_SIZE],
    )
    async def customers(
        self, info: Info[Context, None], first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> CustomerConnection:
        limit = check_page_size(first)
        after_id = CURSORS.decode(after)
        records = await repository.list_page(
            info.context.database, limit=limit + 1, after_id=after_id
        )
        edges = [
            CustomerEdge(cursor=CURSORS.encode(r.id), node=Customer.from_record(r))
            for r in records[:limit]
        ]
        return CustomerConnection(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges], has_next_page=len(records) > limit, after=after
            ),
        )


def _taken(email: str) -> Conflict:
    return Conflict(f"email {email!r} is already used by another customer", field="input.email")


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a customer. The email must be valid and unused. With an "
        "idempotencyKey, a retry of the same input returns the first customer."
    )
    async def create_customer(
        self, info: Info[Context, None], input: CreateCustomerInput
    ) -> Customer | None:
        customer = NewCustomer(
            name=clean_name(input.name, field="input.name"),
            email=clean_email(input.email, field="input.email"),
            idempotency_key=clean_idempotency_key(
                input.idempotency_key, field="input.idempotencyKey"
            ),
        )
        database = info.context.database
        try:
            # No separate look at the email first: a row that takes it may be this very create's
            # first try, committed a moment ago. The insert's unique indexes tell them apart.
            created = await repository.find_by_idempotency_key(database, customer)
            if created is None:
                created = await repository.create(database, customer)
            return Customer.from_record(created)
        except EmailTaken:
            raise _taken(customer.email) from None
        except KeyReused:
            raise key_reused("customer", field="input.idempotencyKey") from None

    @strawberry.federation.mutation(
        description="Change a customer's name or email: the customer themself or staff.",
        authenticated=True,
    )
    async def update_customer(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateCustomerInput
    ) -> Customer | None:
        key = parse_key(id)
        info.context.caller.check_acts_for(str(id), "change a customer", field="id")
        database = info.context.database
        changes: dict[str, str] = {}
        if input.name is not strawberry.UNSET:
            changes["name"] = clean_name(input.name or "", field="input.name")
        if input.email is not strawberry.UNSET:
            changes["email"] = clean_email(input.email or "", field="input.email")
        email = changes.get("email")
        if (
            key is not None
            and email
            and await repository.email_in_use(database, email, except_id=key)
        ):
            raise _taken(email)
        try:
            record = None if key is None else await repository.update_fields(database, key, changes)
        except EmailTaken:
            raise _taken(changes["email"]) from None
        if record is None:
            raise NotFound(f"no customer has id {id!r}", field="id")
        return Customer.from_record(record)


schema = federated_schema(query=Query, mutation=Mutation)
