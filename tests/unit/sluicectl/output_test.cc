// --json, tables and the config dump.
#include <cstdio>

#include <gtest/gtest.h>

#include "tools/sluicectl/dump.h"
#include "tools/sluicectl/json.h"
#include "tools/sluicectl/table.h"

namespace sluice::ctl {
namespace {

v1::Service sampleService() {
  v1::Service s;
  s.set_vip("fd00::10");
  s.set_port(80);
  s.set_protocol(v1::PROTOCOL_TCP);
  s.set_mode(v1::FORWARD_MODE_DNAT);
  s.set_algorithm(v1::ALGORITHM_MAGLEV);
  s.set_affinity(v1::AFFINITY_CLIENT_IP);
  s.set_affinity_timeout(600);
  s.set_table_size(251);
  s.set_source(v1::SOURCE_API);
  v1::Endpoint* ep = s.add_endpoints();
  ep->set_address("fd44::11");
  ep->set_port(8080);
  ep->set_weight(2);
  ep->set_state(v1::ENDPOINT_STATE_TERMINATING);
  return s;
}

TEST(Json, EveryFieldWithStableNamesNumbersAndWords) {
  v1::Service s = sampleService();
  s.clear_table_size();
  s.mutable_endpoints(0)->clear_weight();
  EXPECT_EQ(toJson(s),
            "{\n"
            "  \"vip\": \"fd00::10\",\n"
            "  \"port\": 80,\n"
            "  \"protocol\": \"tcp\",\n"
            "  \"mode\": \"dnat\",\n"
            "  \"algorithm\": \"maglev\",\n"
            "  \"affinity\": \"client-ip\",\n"
            "  \"affinity_timeout\": 600,\n"
            "  \"table_size\": null,\n"
            "  \"endpoints\": [\n"
            "    {\n"
            "      \"address\": \"fd44::11\",\n"
            "      \"port\": 8080,\n"
            "      \"weight\": null,\n"
            "      \"state\": \"terminating\"\n"
            "    }\n"
            "  ],\n"
            "  \"source\": \"api\"\n"
            "}\n");
}

TEST(Json, Uint64AsNumbersMessagesAsNullStringsEscaped) {
  v1::WorkerStats w;
  w.set_rx_packets(18446744073709551615ull);
  w.set_busy_share(0.25);
  v1::Counter* c = w.add_drop_reasons();
  c->set_name("a\"b\\c\n");
  std::string json = toJson(w);
  EXPECT_NE(json.find("\"rx_packets\": 18446744073709551615,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"busy_share\": 0.25,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"conntrack\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"events\": [],"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("name": "a\"b\\c\n")"), std::string::npos) << json;
}

TEST(Dump, WritesEverySettingInConfigSyntax) {
  v1::Service a = sampleService();
  v1::Service b;
  b.set_vip("10.96.0.10");
  b.set_port(53);
  b.set_protocol(v1::PROTOCOL_UDP);
  b.set_source(v1::SOURCE_CONFIG);
  EXPECT_EQ(servicesToConfig({a, b}, "test"),
            "# 2 services from test\n"
            "services = (\n"
            "  {\n"
            "    # [fd00::10]:80/tcp, source api\n"
            "    vip = \"fd00::10\"; port = 80; protocol = \"tcp\";\n"
            "    mode = \"dnat\"; algorithm = \"maglev\";\n"
            "    affinity = \"client-ip\"; affinity_timeout = 600;\n"
            "    table_size = 251;\n"
            "    endpoints = (\n"
            "      { address = \"fd44::11\"; port = 8080; weight = 2; state = \"terminating\"; }\n"
            "    );\n"
            "  },\n"
            "  {\n"
            "    # 10.96.0.10:53/udp, source config\n"
            "    vip = \"10.96.0.10\"; port = 53; protocol = \"udp\";\n"
            "    mode = \"fullnat\"; algorithm = \"maglev\";\n"
            "    affinity = \"none\";\n"
            "    endpoints = ( );\n"
            "  }\n"
            ");\n");
  EXPECT_EQ(servicesToConfig({}, "x"), "# 0 services from x\nservices = ( );\n");
}

TEST(Table, PadsColumnsAndRightAlignsNumbers) {
  Table t({{"NAME"}, {"COUNT", Table::Align::kRight}, {"NOTE"}});
  t.addRow({"a", "1", "x"});
  t.addRow({"longer", "12345"});
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  t.print(out);
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  EXPECT_EQ(text,
            "NAME    COUNT  NOTE\n"
            "a           1  x\n"
            "longer  12345\n");
  EXPECT_EQ(percent(0.125), "12.5%");
  EXPECT_EQ(percent(-1), "-");
  EXPECT_EQ(millis(420000), "0.42");
}

}  // namespace
}  // namespace sluice::ctl
