// A front end's use of the CAS API with openapi-fetch and the types openapi-typescript generates
// (generate-types.mjs). Only type-checked (`tsc --noEmit`): it proves that the contract types
// these calls without casts. tests/test_contract_tools.py runs the check.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/cas-api";

type Schemas = components["schemas"];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

// Log in; act for the CAS organization (a membership of the demo case manager).
export async function login(casOrganizationId: string): Promise<Record<string, string>> {
  const { data, error } = await api.POST("/api/v1/auth/login", {
    body: {
      email: "case_manager@demo.example",
      password: "demo-password-2026",
      organization_id: casOrganizationId,
    },
  });
  if (error) {
    throw new Error(`${error.type}: ${error.detail}`);
  }
  const tokens: Schemas["TokenResponse"] = data;
  return { Authorization: `Bearer ${tokens.access_token}` };
}

// Every client you may see, page by page with the cursor.
export async function allClients(headers: Record<string, string>): Promise<Schemas["ClientRead"][]> {
  const clients: Schemas["ClientRead"][] = [];
  let cursor: string | undefined;
  for (;;) {
    const query: { limit: number; cursor?: string } = { limit: 20 };
    if (cursor !== undefined) {
      query.cursor = cursor;
    }
    const page = await api.GET("/api/v1/clients", { params: { query }, headers });
    if (page.error) {
      throw new Error(page.error.detail);
    }
    clients.push(...page.data.items);
    if (page.data.next_cursor === null) {
      return clients;
    }
    cursor = page.data.next_cursor;
  }
}

// Prefill an update from a read: the read's HUD code types are the write's.
export async function correctClient(
  headers: Record<string, string>,
  clientId: string,
): Promise<Schemas["ClientRead"]> {
  const read = await api.GET("/api/v1/clients/{client_id}", {
    params: { path: { client_id: clientId } },
    headers,
  });
  if (read.error) {
    throw new Error(read.error.detail);
  }
  const client = read.data;
  const etag = read.response.headers.get("ETag") ?? `"${client.version}"`;
  const update: Schemas["ClientUpdate"] = {
    first_name: client.first_name,
    last_name: client.last_name,
    name_data_quality: client.name_data_quality,
    dob: client.dob,
    dob_data_quality: client.dob_data_quality,
    sex: client.sex,
    gender: client.gender,
    gender_none: client.gender_none,
    race_none: client.race_none,
    veteran_status: client.veteran_status,
    phone: "214-555-0199",
  };
  const { data, error } = await api.PATCH("/api/v1/clients/{client_id}", {
    params: { path: { client_id: clientId }, header: { "If-Match": etag } },
    body: update,
    headers,
  });
  if (error) {
    // 412: someone changed it meanwhile; the problem names the current ETag.
    if (error.status === 412 && "current_etag" in error) {
      throw new Error(`stale: now ${error.current_etag}`);
    }
    throw new Error(error.detail);
  }
  return data;
}

// Prefill an update assessment from the latest recorded answers.
export async function updateAssessment(
  headers: Record<string, string>,
  enrollmentId: string,
  etag: string,
): Promise<Schemas["AssessmentResult"]> {
  const latest = await api.GET("/api/v1/enrollments/{enrollment_id}/latest-values", {
    params: { path: { enrollment_id: enrollmentId } },
    headers,
  });
  if (latest.error) {
    throw new Error(latest.error.detail);
  }
  const last = latest.data.current_living_situation;
  const cls: Schemas["CurrentLivingSituationIn"] = {
    current_living_situation: last ? last.current_living_situation : 116,
    cls_subsidy_type: last?.cls_subsidy_type ?? null,
    leave_situation_14_days: last?.leave_situation_14_days ?? null,
  };
  const barriers: Schemas["BarrierIn"][] = latest.data.barriers.map((b) => ({
    disability_type: b.disability_type,
    disability_response: b.disability_response,
    indefinite_and_impairs: b.indefinite_and_impairs,
  }));
  const needs = latest.data.housing_needs;
  const body: Schemas["AssessmentCreate"] = {
    assessment_date: new Date().toISOString().slice(0, 10),
    data_collection_stage: 2,
    current_living_situation: cls,
    barriers,
    housing_needs: needs
      ? {
          sex_offender_registry: needs.sex_offender_registry,
          meth_manufacturing_conviction: needs.meth_manufacturing_conviction,
          behavioral_health_interest: needs.behavioral_health_interest,
          violence_trauma_or_unsafe: needs.violence_trauma_or_unsafe,
          hud_vash_eligible: needs.hud_vash_eligible,
        }
      : null,
  };
  const { data, error } = await api.POST("/api/v1/enrollments/{enrollment_id}/assessments", {
    params: {
      path: { enrollment_id: enrollmentId },
      header: { "If-Match": etag, "Idempotency-Key": `update-${enrollmentId}` },
    },
    body,
    headers,
  });
  if (error) {
    throw new Error(error.detail);
  }
  return data;
}

// Upload a file the user picked (a Blob or File) to Document Check, then download it.
export async function uploadLetter(
  headers: Record<string, string>,
  clientId: string,
  letter: Blob,
): Promise<Blob> {
  const form: Schemas["DocumentCheckUpload"] = {
    category: "homeless",
    item: "homeless",
    document_type: "third_party_letter",
    comments: "MDHA - Dallas Library - Apr 2020-May 2020",
    file: letter,
  };
  const uploaded = await api.POST("/api/v1/clients/{client_id}/document-checks", {
    params: {
      path: { client_id: clientId },
      header: { "Idempotency-Key": crypto.randomUUID() },
    },
    body: form,
    bodySerializer(body) {
      const data = new FormData();
      for (const [name, value] of Object.entries(body)) {
        if (value instanceof Blob) {
          data.append(name, value, value instanceof File ? value.name : "letter.pdf");
        } else if (value !== undefined && value !== null) {
          data.append(name, String(value));
        }
      }
      return data;
    },
    headers,
  });
  if (uploaded.error) {
    throw new Error(uploaded.error.detail);
  }
  const check: Schemas["DocumentCheckRead"] = uploaded.data;
  const download = await api.GET("/api/v1/document-checks/{document_check_id}/file", {
    params: { path: { document_check_id: check.id } },
    parseAs: "blob",
    headers,
  });
  if (download.error) {
    throw new Error(download.error.detail);
  }
  return download.data;
}

// HUD labels for a dropdown.
export async function livingSituations(
  headers: Record<string, string>,
): Promise<Map<Schemas["LivingSituation"], string>> {
  const { data, error } = await api.GET("/api/v1/reference/code-lists/{element}", {
    params: { path: { element: "3.12.1" } },
    headers,
  });
  if (error) {
    throw new Error(error.detail);
  }
  return new Map(data.codes.map((c) => [c.value as Schemas["LivingSituation"], c.label]));
}
