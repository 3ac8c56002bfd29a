"""A realistic mix of 科技淘宝 traffic for locust (run by bench/load/run.sh; see README «Load test»).

Four kinds of user (class weights = their share of the simulated users), each thinking 1-3 s
between requests (`between(1, 3)`):

| user | share | does (task weights within the user) |
|---|---:|---|
| Visitor (anonymous) | 50 % | /search with a Chinese query 10 (a third with a facet or sort, some on 技术需求 or page 2), achievement detail 8, demand detail 4, home 3, /services 1, /experts 1 |
| Member (university or enterprise, logged in through the form) | 20 % | /me 16, /search 12, achievement detail 12, /deals 8, logs out and in again 1 (a session of ~100 s) |
| Official / broker (logged in) | 10 % | officials: /stats/ 3 (current year, a past year, a quarter, a district), /me 1, /search 1; brokers: /deals 3, /me 1, /search 2 |
| API client (bearer token of a member) | 20 % | GET /api/v1/search 4, GET /api/v1/achievements/<id> 4, POST a draft achievement 1, PATCH its own draft 1 |

Writes are drafts only (never submitted), so the public index gets nothing new: drafts are not
indexed. Every request is checked for what a user would notice (status, a redirect to the
log-in page, the JSON shape); anything else counts as a failure."""

from __future__ import annotations

import json
import random
import re
from itertools import count
from pathlib import Path

from locust import FastHttpUser, between, events, task

HERE = Path(__file__).resolve().parent
WORLD = json.loads((HERE / ".accounts.json").read_text(encoding="utf-8"))
ACHIEVEMENTS: list[int] = WORLD["achievement_ids"]
DEMANDS: list[int] = WORLD["demand_ids"]
HOT_ACHIEVEMENTS = ACHIEVEMENTS[:100]  # a few listings everybody looks at
PERSONAS: dict[str, list[dict]] = {}
for persona in WORLD["personas"]:
    PERSONAS.setdefault(persona["role"], []).append(persona)
_next = {role: count() for role in PERSONAS}
_roles = {"Member": count(), "Staff": count()}

QUERIES = [
    "锂电池", "机器人", "污水处理", "海水养殖", "高强钢", "智能制造", "石墨烯", "传感器", "中药", "5G",
    "人工智能", "新能源汽车", "光伏", "氢能", "储能", "节能", "农业", "食品加工", "生物医药", "医疗器械",
    "无人机", "物联网", "大数据", "区块链", "激光", "复合材料", "涂层", "防腐", "焊接", "数控机床",
    "水产", "茶叶", "肥料", "农药残留", "土壤修复", "固废", "脱硫", "催化剂", "膜分离", "纳米材料",
    "锂离子电池 正极材料", "污水 深度处理", "机器视觉 检测", "海洋 生物", "钢渣 综合利用",
    "智能 控制系统", "中药 提取", "\"锂离子电池\"", "风力发电", "港口 自动化",
]  # fmt: skip
DOMAIN_WORDS = [
    line.split()[0]
    for line in (HERE.parents[1] / "search_index" / "dictionary" / "domain_words.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
FIELDS = ["01", "03", "04", "05", "06", "07", "09", "0105", "0301", "0605"]
DISTRICTS = ["371102", "371103", "371121", "371122", "rz-etdz", "rz-hitech"]
MATURITIES = ["research", "lab", "pilot", "sample", "mass"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def pick_query() -> str:
    return random.choice(QUERIES) if random.random() < 0.75 else random.choice(DOMAIN_WORDS)


def search_params() -> dict[str, str]:
    """A query, on 技术需求 15 % of the time, a third of them with one facet or a sort, 10 % on page 2."""
    params = {"q": pick_query()}
    demand = random.random() < 0.15
    if demand:
        params["type"] = "demand"
    roll = random.random()
    if roll < 0.12:
        params["field"] = random.choice(FIELDS)
    elif roll < 0.2:
        params["district"] = random.choice(DISTRICTS)
    elif roll < 0.25 and not demand:  # 技术需求 have no 成熟度 (the API answers 422 for that filter)
        params["maturity"] = random.choice(MATURITIES)
    elif roll < 0.3:
        params["sort"] = "newest"
    if random.random() < 0.1:
        params["page"] = "2"
    return params


def achievement_id() -> int:
    return random.choice(HOT_ACHIEVEMENTS if random.random() < 0.2 else ACHIEVEMENTS)


class Browsing:
    """Pages every kind of web user opens."""

    def page(self, path: str, name: str, *, params=None, logged_in: bool = False):
        with self.client.get(path, params=params, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif logged_in and "/login" in (response.url or ""):
                response.failure("sent to the log-in page")
            elif "<html" not in (response.text or "")[:500]:
                response.failure("not a page")
            else:
                response.success()

    def search(self):
        self.page("/search", "/search", params=search_params())

    def achievement(self):
        self.page(f"/achievements/{achievement_id()}", "/achievements/<id>")

    def demand(self):
        self.page(f"/demands/{random.choice(DEMANDS)}", "/demands/<id>")


class Visitor(Browsing, FastHttpUser):
    weight = 5
    wait_time = between(1, 3)

    @task(10)
    def search_page(self):
        self.search()

    @task(8)
    def achievement_page(self):
        self.achievement()

    @task(4)
    def demand_page(self):
        self.demand()

    @task(3)
    def home(self):
        self.page("/", "/")

    @task(1)
    def services(self):
        self.page("/services", "/services")

    @task(1)
    def experts(self):
        self.page("/experts", "/experts")


class LoggedIn(Browsing, FastHttpUser):
    abstract = True
    roles: tuple[str, ...] = ()

    def on_start(self):
        role = self.roles[next(_roles[type(self).__name__]) % len(self.roles)]  # alternate the roles
        people = PERSONAS[role]
        self.persona = people[next(_next[role]) % len(people)]
        self.login()

    def login(self):
        with self.client.get("/login", name="/login (GET)", catch_response=True) as response:
            token = CSRF.search(response.text or "")
            if response.status_code != 200 or token is None:
                response.failure(f"no log-in form (status {response.status_code})")
                return
        form = {"csrf_token": token.group(1), "email": self.persona["email"], "password": self.persona["password"]}
        with self.client.post(
            "/login", data=form, name="/login (POST)", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"log-in refused (status {response.status_code})")

    def relogin(self):
        with self.client.get("/me", name="/me (dashboard)", catch_response=True) as response:
            token = CSRF.search(response.text or "")
        if token:
            self.client.post(
                "/logout", data={"csrf_token": token.group(1)}, name="/logout (POST)", allow_redirects=False
            )
        self.login()


class Member(LoggedIn):
    weight = 2
    wait_time = between(1, 3)
    roles = ("university", "enterprise")

    @task(16)
    def me(self):
        self.page("/me", "/me (dashboard)", logged_in=True)

    @task(12)
    def search_page(self):
        self.search()

    @task(12)
    def achievement_page(self):
        self.achievement()

    @task(8)
    def deals(self):
        self.page("/deals", "/deals (member)", logged_in=True)

    @task(1)
    def log_in_again(self):
        self.relogin()


class Staff(LoggedIn):
    """Officials read the statistics; brokers work their deal board."""

    weight = 1
    wait_time = between(1, 3)
    roles = ("official", "broker")

    @task(3)
    def main_page(self):
        if self.persona["role"] == "official":
            params = random.choice(
                [{}, {"year": "2025"}, {"year": "2025", "period": "q3"}, {"year": "2024", "district": "371103"}]
            )
            self.page("/stats/", "/stats/", params=params, logged_in=True)
        else:
            self.page("/deals", "/deals (broker board)", logged_in=True)

    @task(1)
    def me(self):
        self.page("/me", "/me (dashboard)", logged_in=True)

    @task(2)
    def search_page(self):
        self.search()


_draft_titles = count()


class ApiClient(FastHttpUser):
    weight = 2
    wait_time = between(1, 3)

    def on_start(self):
        people = PERSONAS[random.choice(("university", "enterprise"))]
        self.persona = people[random.randrange(len(people))]
        self.headers = {"Authorization": f"Bearer {self.persona['token']}", "Accept": "application/json"}
        self.drafts: list[int] = []

    def call(self, method: str, path: str, name: str, expect: int = 200, **kwargs):
        with self.client.request(
            method, path, name=name, headers=self.headers, catch_response=True, **kwargs
        ) as response:
            if response.status_code != expect:
                response.failure(f"status {response.status_code}: {(response.text or '')[:200]}")
                return None
            try:
                body = response.json()
            except ValueError:
                response.failure("not JSON")
                return None
            response.success()
            return body

    @task(4)
    def search(self):
        body = self.call("GET", "/api/v1/search", "/api/v1/search", params=search_params())
        if body is not None and "total" not in body:
            raise AssertionError("search answer without total")

    @task(4)
    def detail(self):
        self.call("GET", f"/api/v1/achievements/{achievement_id()}", "/api/v1/achievements/<id>")

    @task(1)
    def create_draft(self):
        n = next(_draft_titles)
        body = self.call(
            "POST",
            "/api/v1/achievements",
            "/api/v1/achievements (draft)",
            expect=201,
            json={
                "title": f"负载测试草稿 {n} {pick_query()}",
                "summary": "负载测试生成的草稿，不提交审核，不会公开。",
                "field": random.choice(FIELDS),
                "maturity": random.choice(MATURITIES),
                "ip_type": "non_patent",
                "transfer_modes": ["license"],
                "price": "面议",
            },
        )
        if body is not None:
            self.drafts.append(body["id"])

    @task(1)
    def patch_draft(self):
        if not self.drafts:
            return
        draft = random.choice(self.drafts)
        self.call(
            "PATCH",
            f"/api/v1/achievements/{draft}",
            "/api/v1/achievements/<id> (draft)",
            json={"summary": f"负载测试草稿，第 {random.randint(2, 99)} 次修改。"},
        )


@events.quitting.add_listener
def _error_rate_must_be_zero(environment, **_kwargs):
    if environment.stats.total.fail_ratio > 0:
        environment.process_exit_code = 1
