"""Demo data for `make run`: customers, agents and work orders to call about."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.db.models import Agent, Customer, CustomerNumber, ServiceCompletion, utcnow
from ivr.work_orders.orders import open_work_order

CUSTOMERS = [
    # account, name, phone, address, district, class, balance, language, ID number's last 4 (second factor)
    (
        "10000001",
        "王芳",
        "+8613800000001",
        "朝阳区建国路88号3单元501",
        "朝阳",
        "residential",
        "128.50",
        "zh-CN",
        "3021",
    ),
    (
        "10000002",
        "李强",
        "+8613800000002",
        "海淀区中关村大街27号2-1102",
        "海淀",
        "residential",
        "-46.20",
        "zh-CN",
        "457X",
    ),
    (
        "10000003",
        "张伟餐馆",
        "+8613800000003",
        "东城区东四北大街120号",
        "东城",
        "commercial",
        "2310.00",
        "zh-CN",
        "0816",
    ),
    (
        "10000004",
        "John Smith",
        "+8613800000004",
        "朝阳区三里屯路19号院5-802",
        "朝阳",
        "residential",
        "35.00",
        "en-US",
        "1234",
    ),
    (
        "10000005",
        "刘洋",
        "+8613800000005",
        "丰台区丽泽路16号1-301",
        "丰台",
        "residential",
        "0.00",
        "zh-CN",
        "6688",
    ),
]

AGENTS = [
    # name, client identity, phone, skills, languages
    ("陈静", "agent-chenjing", "+8613700000001", {"billing": 5, "general": 4}, ["zh-CN"]),
    ("赵磊", "agent-zhaolei", "+8613700000002", {"safety": 5, "repair": 4}, ["zh-CN"]),
    ("孙丽", "agent-sunli", "+8613700000003", {"complaint": 5, "general": 3}, ["zh-CN", "en-US"]),
    ("周杰", "agent-zhoujie", "+8613700000004", {"repair": 5, "safety": 3}, ["zh-CN"]),
    ("Emily Wu", "agent-emilywu", "+8613700000005", {"general": 4, "billing": 3}, ["en-US", "zh-CN"]),
    ("吴刚", "agent-wugang", "+8613700000006", {"safety": 4, "general": 3}, ["zh-CN"]),
]


def load_demo_data(session: Session) -> bool:
    """Insert the demo rows once; False if customers already exist."""
    if session.scalar(select(func.count()).select_from(Customer)):
        return False
    customers = []
    for account, name, phone, address, district, klass, balance, language, id_last4 in CUSTOMERS:
        customer = Customer(
            account_number=account,
            name=name,
            phone=phone,
            address=address,
            district=district,
            customer_class=klass,
            balance=Decimal(balance),
            language=language,
            id_number_last4=id_last4,
        )
        session.add(customer)
        customers.append(customer)
    for name, identity, phone, skills, languages in AGENTS:
        # Demo agents start available, so a demo call is routed at once; real agents log in to go available.
        agent = Agent(name=name, client_identity=identity, phone=phone, skills=skills, languages=languages)
        agent.groups, agent.state, agent.idle_since = sorted(skills), "available", utcnow()
        session.add(agent)
    session.flush()
    session.add_all(CustomerNumber(customer_id=c.id, phone=c.phone, position=0) for c in customers)
    now = utcnow()
    orders = [
        ("meter_fault", "open", customers[0], now + timedelta(hours=2), None),
        ("fault", "dispatched", customers[1], now + timedelta(hours=1), None),
        ("installation", "completed", customers[2], now - timedelta(days=1), now - timedelta(hours=20)),
    ]
    for index, (kind, status, customer, promised, completed) in enumerate(orders):
        order = open_work_order(
            session,
            kind=kind,
            caller_number=customer.phone,
            customer=customer,
            source_key=f"demo:{index}",
            promised_by=promised,
            created_at=now - timedelta(hours=3),
            notify=False,  # no webhook for demo data
        )
        order.status = status
        order.stage = {"open": "opened", "dispatched": "in_progress", "completed": "closed"}[status]
        order.completed_at = completed
    return True


# Field completions of 3 days ago, so `run.py callbacks try` has call-backs to place on a demo install:
# external id, service type, customer phone, language, employee, amount charged
DEMO_COMPLETIONS = [
    ("DEMO-WO-1", "paid_repair", "+8613800000001", "zh-CN", "王师傅 #101", "120.00"),
    ("DEMO-WO-2", "leak_repair", "+8613800000002", "zh-CN", "李师傅 #102", "0"),
    ("DEMO-WO-3", "appliance_install_repair", "+8613800000003", "en-US", "王师傅 #101", "260.00"),
]


def load_demo_callbacks(session: Session, settings: Settings) -> int:
    """The demo completions, drawn (all of them: fewer than 20 cases) and made call-back jobs."""
    from ivr.surveys.draws import draw_callbacks
    from ivr.surveys.jobs import calling_rules, create_jobs

    if session.scalar(select(func.count()).select_from(ServiceCompletion)):
        return 0
    completed = utcnow() - timedelta(days=3, hours=2)
    for external_id, kind, phone, language, employee, amount in DEMO_COMPLETIONS:
        session.add(
            ServiceCompletion(
                source="field",
                external_id=external_id,
                service_type=kind,
                completed_at=completed,
                customer_phone=phone,
                customer_language=language,
                employee=employee,
                amount_charged=Decimal(amount),
            )
        )
    session.flush()
    draw_callbacks(session, timezone=settings.local_timezone, seed=1)
    return create_jobs(session, calling_rules(settings)).created
