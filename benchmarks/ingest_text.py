"""Generated news text for the benchmarks: Chinese/English sentences drawn word by word, so two
stories share almost no 5-character shingles, with one sentence in ten from a fixed template (a
newsroom's stock phrases). Used by benchmarks/ingest.py (8 KB Sina-style items) and
benchmarks/soak.py (the generator server's stories); importing it has no side effects."""

from __future__ import annotations

import random
from typing import Any

CITIES = ("北京市", "上海市", "广东省", "浙江省", "江苏省", "四川省", "湖北省", "山东省", "河南省",
          "福建省", "重庆市", "天津市", "内蒙古", "河北省", "湖南省", "安徽省")
TOPICS = ("消费帮扶", "乡村振兴", "绿色金融", "数字经济", "稳外贸", "普惠金融", "新能源汽车", "制造业升级",
          "跨境电商", "养老服务", "科技创新", "城市更新", "文旅消费", "农产品流通", "中小企业融资")
COMPANIES = (("sz000061", "农产品"), ("sh601939", "建设银行"), ("sh600519", "贵州茅台"),
             ("sz000858", "五粮液"), ("sh601318", "中国平安"), ("sz300750", "宁德时代"),
             ("sh600036", "招商银行"), ("sz002594", "比亚迪"), ("sh601888", "中国中免"),
             ("sh600900", "长江电力"), ("sz000333", "美的集团"), ("sh601012", "隆基绿能"))
ZH_SENTENCES = (
    "{year}年，{city}深化落实国家发展改革委等{n2}个部门印发的《关于继续大力实施{topic}巩固拓展成果的指导意见》，"
    "扎实推进{topic}工作，全市采购销售支援合作地区农副产品{n3}亿元，取得了较好成效",
    "{city}委市政府深刻领会{topic}工作的新要求，把{topic}当做全面推进高质量发展的重要抓手",
    "按照牵头建立的部际沟通协调机制，调整完善联席会，组成部门涉及各相关部门、各前方指挥部和挂职干部团队等{n2}个单位，"
    "联动开展{topic}，统筹形成工作合力",
    "制定了《{city}{topic}工作{year}—{year1}年实施方案》，围绕销售途径拓展、供应链条打通、特色品牌打造等环节，"
    "着力抓好{n1}个方面、{n2}条重点任务",
    "在建成运营{n3}个连锁超市专区专柜基础上，组织引导全市{n2}区的基本便民商业网点、标准化示范门店、连锁便利店销售相关产品",
    "组织全市{n4}家预算单位、{n2}家市管企业，继续按照不低于{n2}%的预留份额优先采购，全年完成采购额{f2}亿元",
    "已开展党建活动{n3}余场、党员近{f1}万余人，动员市民办卡突破{n3}万张",
    "截至{month}月{day}日，{city}{topic}相关贷款余额达到{f2}亿元，同比增长{f1}%，高于各项贷款平均增速{f1}个百分点",
    "数据显示，{year}年前{month}个月，{city}社会消费品零售总额{f2}亿元，同比增长{f1}%，其中网上零售额增长{f1}%",
    "业内人士表示，{topic}领域的政策红利仍在持续释放，预计全年市场规模有望突破{n4}亿元",
    "在京东商城、天猫、首采网等平台持续运营电商馆，组织互联网平台开展直播带货等活动{n3}场次",
    "对参与{topic}有突出贡献的企业、社会组织和个人，采取适当方式给予奖励激励，共表彰{n2}家单位",
    "专家指出，下一阶段应进一步完善{topic}长效机制，推动资金、人才、技术等要素向重点领域集聚",
    "受此影响，{month}月{day}日午后板块集体走强，成交额较前一交易日放大{f1}%，资金净流入{f2}亿元",
    "仅{n1}个月时间，相关产品在{city}市场实现销售{n3}万元，带动{n4}户农户稳定增收",
)
EN_SENTENCES = (
    "Shares of {company} rose {f1}% to {f2} yuan in Shanghai on {month}/{day}, the best day in {n1} weeks.",
    "Analysts at a Beijing brokerage said the {n2}-point plan could lift retail sales by {f1} percent.",
    "The central bank injected {n3} billion yuan through reverse repos on day {day}, keeping cash ample.",
    "Exports grew {f1}% year on year in month {month}, beating the median forecast of {f1}% in a poll.",
    "Turnover on the two exchanges reached {n4} billion yuan, with {n3} stocks closing higher.",
)


def _numbers(rng: random.Random, serial: int) -> dict[str, Any]:
    return {
        "year": 2018 + serial % 7, "year1": 2019 + serial % 7, "month": rng.randint(1, 12),
        "day": rng.randint(1, 28), "n1": rng.randint(2, 9), "n2": rng.randint(10, 99),
        "n3": rng.randint(100, 999), "n4": rng.randint(1000, 9999),
        "f1": f"{rng.uniform(0.1, 30):.1f}", "f2": f"{rng.uniform(10, 900):.2f}",
        "city": rng.choice(CITIES), "topic": rng.choice(TOPICS),
    }


def _words(block: str) -> tuple[str, ...]:
    return tuple(block.split())


# Most sentences are drawn word by word from these lists, so two items share almost no 5-character
# shingles (as two different news stories do) and the near-duplicate index finds no candidates;
# one sentence in ten is a fixed template with other numbers, like a newsroom's stock phrases.
ZH_WORDS = _words("""
    北京市 上海 深圳 地方政府 国务院 发展改革委 财政部 人民银行 证监会 银保监会 商务部 工信部 统计局
    消费 帮扶 乡村 振兴 脱贫 攻坚 成果 巩固 拓展 农副产品 采购 销售 渠道 市场 平台 电商 直播 带货
    企业 单位 机构 部门 团队 干部 党员 市民 农户 合作社 龙头 中小企业 民营 国有 外资 上市公司 券商
    基金 银行 保险 信托 债券 股票 期货 汇率 利率 贷款 存款 融资 投资 资金 资本 资产 负债 利润 营收
    增长 下降 回升 放缓 加快 稳定 波动 扩大 收窄 突破 创新 升级 转型 改革 开放 合作 协调 统筹 推进
    落实 部署 完善 健全 优化 提升 强化 加强 深化 推动 引导 鼓励 支持 保障 监管 规范 防范 化解 风险
    政策 措施 方案 意见 通知 规划 目标 任务 机制 体系 制度 标准 品牌 质量 效益 效率 规模 结构 布局
    产业 行业 领域 环节 链条 供应链 价值链 创新链 物流 仓储 生产 流通 加工 包装 运输 零售 批发 餐饮
    新能源 汽车 电池 光伏 芯片 半导体 人工智能 数字经济 互联网 大数据 云计算 物联网 5G 算力 软件
    房地产 楼市 住房 租赁 土地 基建 城市 更新 交通 能源 电力 煤炭 石油 天然气 钢铁 有色 化工 建材
    出口 进口 外贸 跨境 订单 关税 港口 航运 集装箱 汇款 外汇 储备 顺差 逆差 需求 供给 价格 物价
    指数 数据 同比 环比 季度 年度 上半年 下半年 前三季度 全年 累计 余额 总额 均值 峰值 预期 预测
    专家 分析师 研究员 负责人 发言人 记者 业内人士 投资者 消费者 居民 员工 就业 收入 工资 社保 养老
    医疗 教育 文旅 体育 健康 服务 展会 论坛 峰会 会议 活动 项目 工程 园区 基地 中心 专区 专柜 门店
    显著 明显 持续 逐步 进一步 全面 重点 积极 有效 有力 扎实 稳步 大力 充分 切实 主动 精准 长效
    表示 指出 认为 强调 介绍 透露 显示 预计 判断 建议 呼吁 回应 披露 公布 发布 宣布 启动 完成 实现
""")
EN_WORDS = _words("""
    shares stocks bonds yields yuan dollar index market investors analysts traders bank central policy
    rate cut hike growth slowdown recovery exports imports trade surplus deficit demand supply prices
    inflation consumer retail sales factory output property developers housing credit loans liquidity
    regulator securities fund insurer brokerage earnings profit revenue quarter annual forecast survey
    rose fell climbed slipped jumped dropped gained lost steady higher lower record biggest weakest since
    amid after before despite while as Shanghai Shenzhen Beijing Hong Kong China government ministry
    plan stimulus support measures reform pilot program project capacity electric vehicles batteries
    solar chips semiconductor software platform online shoppers orders shipments tariffs port freight
""")


def _zh_clause(rng: random.Random) -> str:
    words = [rng.choice(ZH_WORDS) for _ in range(rng.randint(3, 7))]
    if rng.random() < 0.4:
        words.insert(rng.randint(0, len(words)), rng.choice((
            f"{rng.randint(2, 999)}亿元", f"{rng.uniform(0.1, 30):.1f}%", f"{rng.randint(1, 12)}月"
            f"{rng.randint(1, 28)}日", f"{rng.randint(10, 9999)}家", rng.choice(CITIES),
            f"{rng.randint(2, 99)}个百分点")))
    return "".join(words)


def sentence(rng: random.Random, serial: int) -> str:
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(ZH_SENTENCES).format(**_numbers(rng, serial)) + "。"
    if roll < 0.15:
        company = rng.choice(COMPANIES)[1]
        return " " + rng.choice(EN_SENTENCES).format(company=company, **_numbers(rng, serial)) + " "
    if roll < 0.25:
        words = [rng.choice(EN_WORDS) for _ in range(rng.randint(8, 18))]
        words.insert(rng.randint(1, len(words)), f"{rng.uniform(0.1, 30):.1f}%")
        return " " + " ".join(words).capitalize() + ". "
    return "，".join(_zh_clause(rng) for _ in range(rng.randint(2, 4))) + "。"
