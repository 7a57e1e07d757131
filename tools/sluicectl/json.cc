#include "tools/sluicectl/json.h"

#include <charconv>
#include <cmath>

#include <google/protobuf/descriptor.h>

#include "tools/sluicectl/names.h"

namespace sluice::ctl {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void appendString(std::string& out, const std::string& text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", c);
          out += esc;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void appendDouble(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";  // JSON has no NaN or infinity
    return;
  }
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  out.append(text, ec == std::errc() ? end : text);
}

void appendMessage(std::string& out, const Message& message, int depth);

// Element `index` of a repeated field, or the singular value when index < 0.
void appendValue(std::string& out, const Message& message, const FieldDescriptor* field, int index,
                 int depth) {
  const Reflection* r = message.GetReflection();
  bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      out += std::to_string(rep ? r->GetRepeatedInt32(message, field, index)
                                : r->GetInt32(message, field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      out += std::to_string(rep ? r->GetRepeatedInt64(message, field, index)
                                : r->GetInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      out += std::to_string(rep ? r->GetRepeatedUInt32(message, field, index)
                                : r->GetUInt32(message, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      out += std::to_string(rep ? r->GetRepeatedUInt64(message, field, index)
                                : r->GetUInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      appendDouble(
          out, rep ? r->GetRepeatedDouble(message, field, index) : r->GetDouble(message, field));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      appendDouble(out,
                   rep ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out += (rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
                 ? "true"
                 : "false";
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      appendString(out,
                   enumText(field->enum_type(), rep ? r->GetRepeatedEnumValue(message, field, index)
                                                    : r->GetEnumValue(message, field)));
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      appendString(
          out, rep ? r->GetRepeatedString(message, field, index) : r->GetString(message, field));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      appendMessage(
          out, rep ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field),
          depth);
      break;
  }
}

void newline(std::string& out, int depth) {
  out += '\n';
  out.append(static_cast<size_t>(depth) * 2, ' ');
}

void appendMessage(std::string& out, const Message& message, int depth) {
  const google::protobuf::Descriptor* type = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  if (type->field_count() == 0) {
    out += "{}";
    return;
  }
  out += '{';
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    newline(out, depth + 1);
    appendString(out, field->name());
    out += ": ";
    if (field->is_repeated()) {
      int n = r->FieldSize(message, field);
      if (n == 0) {
        out += "[]";
      } else {
        out += '[';
        for (int j = 0; j < n; ++j) {
          newline(out, depth + 2);
          appendValue(out, message, field, j, depth + 2);
          out += j + 1 < n ? "," : "";
        }
        newline(out, depth + 1);
        out += ']';
      }
    } else if (field->has_presence() && !r->HasField(message, field)) {
      out += "null";
    } else {
      appendValue(out, message, field, -1, depth + 1);
    }
    out += i + 1 < type->field_count() ? "," : "";
  }
  newline(out, depth);
  out += '}';
}

}  // namespace

std::string toJson(const Message& message) {
  std::string out;
  appendMessage(out, message, 0);
  out += '\n';
  return out;
}

}  // namespace sluice::ctl
