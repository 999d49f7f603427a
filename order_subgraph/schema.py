"""The orders subgraph schema: the `Order` entity, `Customer.orders` added to customers, the
mutations that place an order and move it through its life, and the subscriptions that follow
them (fed by the repository's domain events; subgraph_kit.events)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.federation.schema_directives import Authenticated
from strawberry.types import Info

from order_subgraph import repository
from order_subgraph.customers_client import CustomersClient
from order_subgraph.lifecycle import BY_STAFF, refusal
from order_subgraph.repository import (
    ORDER_CREATED,
    ORDER_STATUS_CHANGED,
    ItemRecord,
    NewOrder,
    OrderRecord,
    PageKey,
    Status,
)
from order_subgraph.validation import (
    check_item_count,
    clean_currency,
    clean_customer_id,
    clean_quantity,
    clean_sku,
    price_in_cents,
)
from subgraph_kit import (
    BadUserInput,
    Conflict,
    Cursors,
    Forbidden,
    NotFound,
    PageInfo,
    check_page_size,
    federated_schema,
)
from subgraph_kit.caller import Caller
from subgraph_kit.database import Database
from subgraph_kit.entities import in_order, primary_keys, wanted
from subgraph_kit.events import EventBus
from subgraph_kit.idempotency import KeyReused, clean_idempotency_key, key_reused
from subgraph_kit.pagination import DEFAULT_PAGE_SIZE, PAGE_SIZE, parse_key

CURSORS = Cursors("order")

OrderStatus = strawberry.enum(Status, name="OrderStatus", description=Status.__doc__)


@dataclass(slots=True)
class Context:
    """Per-request state: the database, the customers client, who is calling, and the
    request's DataLoaders. A WebSocket connection has one for all its subscriptions: its
    caller may be replaced by the `connection_init` payload's (`connection_params`), and its
    DataLoaders are emptied before each event (`forget`)."""

    database: Database
    customers: CustomersClient
    caller: Caller
    orders: DataLoader[int, OrderRecord | None]
    items: DataLoader[int, list[ItemRecord]]
    customer_orders: DataLoader[PageKey, list[OrderRecord]]
    customer_order_counts: DataLoader[tuple[str, Status | None], int]
    connection_params: dict[str, object] | None = field(default=None)

    def forget(self) -> None:
        """Empty the DataLoaders, so what an event's fields read is read afresh."""
        for loader in (self.orders, self.items, self.customer_orders, self.customer_order_counts):
            loader.clear_all()


def make_context(database: Database, customers: CustomersClient, caller: Caller) -> Context:
    async def load_orders(ids: list[int]) -> list[OrderRecord | None]:
        found = await repository.get_by_ids(database, ids)
        return [found.get(i) for i in ids]

    async def load_items(ids: list[int]) -> list[list[ItemRecord]]:
        found = await repository.items_for_orders(database, ids)
        return [found.get(i, []) for i in ids]

    async def load_pages(keys: list[PageKey]) -> list[list[OrderRecord]]:
        found = await repository.pages_for_customers(database, keys)
        return [found[key] for key in keys]

    async def load_counts(keys: list[tuple[str, Status | None]]) -> list[int]:
        found = await repository.counts_for_customers(database, keys)
        return [found[key] for key in keys]

    return Context(
        database=database,
        customers=customers,
        caller=caller,
        orders=DataLoader(load_fn=load_orders),
        items=DataLoader(load_fn=load_items),
        customer_orders=DataLoader(load_fn=load_pages),
        customer_order_counts=DataLoader(load_fn=load_counts),
    )


@strawberry.type(description="An exact amount of money: a decimal string, never a float.")
class Money:
    amount: Decimal = strawberry.field(description='The amount, with two decimals ("12.50").')
    currency: str = strawberry.field(description="ISO 4217 currency code.")

    @classmethod
    def of(cls, cents: int, currency: str) -> Money:
        return cls(amount=Decimal(cents).scaleb(-2), currency=currency)


@strawberry.type(description="One line of an order.")
class OrderItem:
    sku: str
    quantity: int
    unit_price: Money
    subtotal: Money = strawberry.field(description="quantity × unitPrice")


@strawberry.federation.type(keys=["id"], description="An order placed by a customer.")
class Order:
    id: strawberry.ID
    status: OrderStatus  # type: ignore[valid-type]
    total: Money
    created_at: datetime = strawberry.field(description="When the order was placed (UTC).")
    customer_id: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: OrderRecord) -> Order:
        return cls(
            id=strawberry.ID(str(record.id)),
            status=record.status,
            total=Money.of(record.total_cents, record.currency),
            created_at=record.created_at,
            customer_id=record.customer_id,
        )

    @strawberry.field(description="Who placed the order (resolved by the customers service).")
    def customer(self) -> Customer:
        return Customer(id=strawberry.ID(self.customer_id))

    @strawberry.field(description="The order's lines, in the order they were given.")
    async def items(self, info: Info[Context, None]) -> list[OrderItem]:
        currency = self.total.currency
        return [
            OrderItem(
                sku=item.sku,
                quantity=item.quantity,
                unit_price=Money.of(item.unit_price_cents, currency),
                subtotal=Money.of(item.quantity * item.unit_price_cents, currency),
            )
            for item in await info.context.items.load(int(self.id))
        ]

    @classmethod
    async def resolve_references(
        cls, info: Info[Context, None], representations: list[dict[str, Any]]
    ) -> list[object]:
        """All of an `_entities` request's orders, in one query; another customer's order is
        that item's FORBIDDEN."""
        keys = primary_keys("Order", representations)
        found = await repository.get_by_ids(info.context.database, wanted(keys))
        caller = info.context.caller

        def answer(record: OrderRecord) -> object:
            if not caller.may_act_for(record.customer_id):
                return Forbidden("only the customer themself or staff may read an order")
            return cls.from_record(record)

        return in_order(keys, found, answer)


async def _load_order(info: Info[Context, None], id: object) -> Order | None:
    """The order, None when there is none; FORBIDDEN when it is another customer's."""
    key = parse_key(id)
    record = None if key is None else await info.context.orders.load(key)
    if record is None:
        return None
    info.context.caller.check_acts_for(record.customer_id, "read an order", field="id")
    return Order.from_record(record)


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type(description="A page of orders, newest first.")
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many orders match, on all pages.")
    async def total_count(self) -> int:
        return await self.count()


def _connection(
    records: list[OrderRecord], limit: int, after: str | None, count: Callable[[], Awaitable[int]]
) -> OrderConnection:
    """A connection from up to limit + 1 records (the extra one only says there is a next page)."""
    edges = [
        OrderEdge(cursor=CURSORS.encode(r.id), node=Order.from_record(r)) for r in records[:limit]
    ]
    return OrderConnection(
        edges=edges,
        page_info=PageInfo.of(
            [edge.cursor for edge in edges], has_next_page=len(records) > limit, after=after
        ),
        count=count,
    )


@strawberry.federation.type(keys=["id"], description="A customer, as far as orders know one.")
class Customer:
    id: strawberry.ID

    @strawberry.federation.field(
        description="This customer's orders, newest first: for the customer themself or staff; "
        "anyone else gets null and FORBIDDEN.",
        directives=[PAGE_SIZE],
        authenticated=True,
    )
    async def orders(
        self,
        info: Info[Context, None],
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        status: OrderStatus | None = None,  # type: ignore[valid-type]
    ) -> OrderConnection | None:
        info.context.caller.check_acts_for(str(self.id), "read a customer's orders")
        limit = check_page_size(first)
        after_id = CURSORS.decode(after)
        key = PageKey(str(self.id), status, limit + 1, after_id)
        records = await info.context.customer_orders.load(key)

        def count() -> Awaitable[int]:
            return info.context.customer_order_counts.load((str(self.id), status))

        return _connection(records, limit, after, count)

    @classmethod
    async def resolve_references(
        cls, info: Info[Context, None], representations: list[dict[str, Any]]
    ) -> list[object]:
        """Any customer id is one: orders know customers only by their id."""
        if any("id" not in r for r in representations):
            raise BadUserInput("a representation of Customer has no id", field="representations")
        return [cls(id=strawberry.ID(str(r["id"]))) for r in representations]


@strawberry.input
class OrderItemInput:
    sku: str
    quantity: int
    unit_price: Decimal = strawberry.field(description='Price of one unit, e.g. "12.50".')


@strawberry.input
class CreateOrderInput:
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Who places the order: the token's own customer when left out; another "
        "customer only for staff (else FORBIDDEN).",
    )
    items: list[OrderItemInput]
    currency: str = "USD"
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Makes a retry safe: the same input with the same key (1 to 255 printable "
        "characters, e.g. a UUID) returns the order the key first created, never a second one. "
        "The same key with other input is refused (CONFLICT).",
    )


def _clean_items(items: list[OrderItemInput]) -> tuple[ItemRecord, ...]:
    check_item_count(len(items), field="input.items")
    return tuple(
        ItemRecord(
            sku=clean_sku(item.sku, field=f"input.items[{i}].sku"),
            quantity=clean_quantity(item.quantity, field=f"input.items[{i}].quantity"),
            unit_price_cents=price_in_cents(item.unit_price, field=f"input.items[{i}].unitPrice"),
        )
        for i, item in enumerate(items)
    )


@strawberry.type
class Query:
    @strawberry.federation.field(
        description="The order with this id, or null: the caller's own, or any for staff "
        "(else FORBIDDEN).",
        authenticated=True,
    )
    async def order(self, info: Info[Context, None], id: strawberry.ID) -> Order | None:
        return await _load_order(info, id)

    @strawberry.federation.field(
        description="Orders, newest first, optionally of one status: the caller's own, or for "
        "staff every customer's (`customerId` picks one; another customer's is FORBIDDEN "
        "unless staff).",
        directives=[PAGE_SIZE],
        authenticated=True,
    )
    async def orders(
        self,
        info: Info[Context, None],
        customer_id: strawberry.ID | None = None,
        status: OrderStatus | None = None,  # type: ignore[valid-type]
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> OrderConnection | None:
        limit = check_page_size(first)
        after_id = CURSORS.decode(after)
        database = info.context.database
        caller = info.context.caller
        customer = str(customer_id) if customer_id is not None else None
        if customer is None and not caller.staff:  # a customer's own, unless staff
            customer = caller.customer_id
            if customer is None:
                raise Forbidden("only staff may list every customer's orders", field="customerId")
        if customer is not None:
            caller.check_acts_for(customer, "list a customer's orders", field="customerId")
        records = await repository.list_page(
            database, customer_id=customer, status=status, limit=limit + 1, after_id=after_id
        )

        def count() -> Awaitable[int]:
            return repository.count(database, customer_id=customer, status=status)

        return _connection(records, limit, after, count)


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(
        description="Place an order for the token's customer (staff: for any existing "
        "customer). Nothing is written unless the customers service confirms the customer "
        "exists. With an idempotencyKey, a retry of the same input returns the first order "
        "instead of placing a second one.",
        authenticated=True,
    )
    async def create_order(
        self, info: Info[Context, None], input: CreateOrderInput
    ) -> Order | None:
        caller = info.context.caller
        wanted = caller.customer_id if input.customer_id is None else str(input.customer_id)
        customer_id = clean_customer_id(wanted or "", field="input.customerId")
        caller.check_acts_for(customer_id, "place an order for a customer", "input.customerId")
        order = NewOrder(
            customer_id=customer_id,
            currency=clean_currency(input.currency, field="input.currency"),
            items=_clean_items(input.items),
            idempotency_key=clean_idempotency_key(
                input.idempotency_key, field="input.idempotencyKey"
            ),
        )
        database = info.context.database
        try:
            # A retry is answered from the database alone: the customer was checked when the
            # order was created, and nothing is written now.
            if (created := await repository.find_by_idempotency_key(database, order)) is not None:
                return Order.from_record(created)
            if not await info.context.customers.exists(order.customer_id):
                raise BadUserInput(
                    f"no customer has id {order.customer_id!r}", field="input.customerId"
                )
            return Order.from_record(await repository.create(database, order))
        except KeyReused:
            raise key_reused("order", field="input.idempotencyKey") from None

    @strawberry.federation.mutation(
        description="Cancel an order that has not shipped yet: the customer's own, or any for "
        "staff (else FORBIDDEN). Cancelling a cancelled order changes nothing; a shipped or "
        "delivered order cannot be cancelled (CONFLICT).",
        authenticated=True,
    )
    async def cancel_order(self, info: Info[Context, None], id: strawberry.ID) -> Order | None:
        return await _move(info, id, Status.CANCELLED, field="id")

    @strawberry.federation.mutation(
        description="Move an order on in its life: PENDING to PAID to SHIPPED to DELIVERED, or "
        "a PENDING or PAID one to CANCELLED; the customer's own, or any for staff (else "
        "FORBIDDEN), and SHIPPED or DELIVERED only by staff (else FORBIDDEN). Moving an order "
        "to the status it has changes nothing; any other move is refused (CONFLICT, the "
        "message saying which moves it allows).",
        authenticated=True,
    )
    async def advance_order(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        to: OrderStatus,  # type: ignore[valid-type]
    ) -> Order | None:
        return await _move(info, id, Status(to), field="to")


async def _move(info: Info[Context, None], id: strawberry.ID, to: Status, field: str) -> Order:
    """Move the order to `to` (order_subgraph.lifecycle): NOT_FOUND, FORBIDDEN (another
    customer's, or a move only staff make), or CONFLICT when its life does not allow the move
    (`field` names the cause)."""
    key = parse_key(id)
    record = None
    if key is not None and (found := await info.context.orders.load(key)) is not None:
        caller = info.context.caller
        caller.check_acts_for(found.customer_id, "change an order", field="id")
        if to in BY_STAFF and not caller.staff:
            raise Forbidden(f"only staff may mark an order {to.value}", field="to")
        record, _ = await repository.set_status(info.context.database, key, to)
    if record is None:
        raise NotFound(f"no order has id {id!r}", field="id")
    if record.status is not to:
        raise Conflict(refusal(id, record.status, to), field=field)
    return Order.from_record(record)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Each order placed from now on, as committed: of `customerId`, by default "
        "the caller's own; staff may follow any customer's, or every order by leaving it out "
        "(else FORBIDDEN).",
        directives=[Authenticated()],
    )
    async def order_created(
        self, info: Info[Context, None], customer_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Order, None]:
        caller = info.context.caller
        customer = str(customer_id) if customer_id is not None else None
        if customer is None and not caller.staff:
            customer = caller.customer_id
            if customer is None:
                raise Forbidden("only staff may follow every customer's orders", field="customerId")
        if customer is not None:
            caller.check_acts_for(customer, "follow a customer's orders", field="customerId")
        return _orders(info.context, info.context.database.events, ORDER_CREATED, customer)

    @strawberry.subscription(
        description="The order each time its status changes from now on, as committed: the "
        "caller's own order, or any for staff (else FORBIDDEN; NOT_FOUND when there is none).",
        directives=[Authenticated()],
    )
    async def order_status_changed(
        self, info: Info[Context, None], order_id: strawberry.ID
    ) -> AsyncGenerator[Order, None]:
        key = parse_key(order_id)
        record = None if key is None else await info.context.orders.load(key)
        if record is None:
            raise NotFound(f"no order has id {order_id!r}", field="orderId")
        info.context.caller.check_acts_for(record.customer_id, "follow an order", "orderId")
        return _orders(info.context, info.context.database.events, ORDER_STATUS_CHANGED, str(key))


async def _orders(
    context: Context, bus: EventBus, topic: str, key: str | None
) -> AsyncGenerator[Order, None]:
    """The orders that `topic`'s events of `key` (None: all) carry, as they are committed."""
    with bus.subscribe(topic, key) as subscriber:
        async for event in subscriber:
            context.forget()
            yield Order.from_record(repository.from_event(event))


schema = federated_schema(query=Query, mutation=Mutation, subscription=Subscription)
