//! The OpenAPI document, generated from the code: the handlers' `utoipa`
//! annotations give the paths and responses; the patient schema is built
//! from the input rules themselves (the data contract's codes and ranges,
//! and, once a model is loaded, the codes it saw in training), so the
//! document and the checks cannot disagree.

use std::borrow::Cow;

use heartlab::artifact::{contract_schema, InputField};
use serde_json::Value;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{OpenApi, PartialSchema, ToSchema};

use crate::answer::{BatchResponse, PredictResponse, RowPrediction};
use crate::error::{ErrorBody, Problem, ProblemKind};
use crate::input::{self, HOSPITAL};
use crate::routes::{Health, InputFieldDoc, ModelInfo};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "heartlab prediction server",
        description = "Scores the probability of heart disease with the lab's logistic \
                       regression. Every client mistake is a 4xx whose body names each field."
    ),
    paths(
        crate::routes::livez,
        crate::routes::readyz,
        crate::routes::model_info,
        crate::routes::predict,
        crate::routes::predict_batch,
        crate::routes::metrics,
    ),
    components(schemas(
        PatientDoc,
        BatchRequestDoc,
        PredictResponse,
        BatchResponse,
        RowPrediction,
        Health,
        ModelInfo,
        InputFieldDoc,
        ErrorBody,
        Problem,
        ProblemKind,
    ))
)]
struct ApiDoc;

/// The request body of `/v1/predict`: one patient.
pub struct PatientDoc;

/// The request body of `/v1/predict/batch`: `{"rows": [patient, ...]}`.
pub struct BatchRequestDoc;

/// One input's schema: a number (or whole number) or null; for a category
/// the codes the checks accept, for a measurement its plausible range.
fn field_schema(field: &InputField) -> Schema {
    let kind = if field.integer {
        Type::Integer
    } else {
        Type::Number
    };
    let mut schema = ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([kind, Type::Null]))
        .description(Some(field.meaning.clone()))
        .minimum(field.min)
        .maximum(field.max);
    let accepted: Option<Vec<Value>> = match (&field.seen_in_training, &field.codes) {
        (Some(seen), Some(codes)) if field.used => Some(
            codes
                .iter()
                .filter(|&&c| seen.contains(&(c as f64)))
                .map(|&c| Value::from(c))
                .collect(),
        ),
        (_, Some(codes)) => Some(codes.iter().map(|&c| Value::from(c)).collect()),
        _ => None,
    };
    if let Some(mut accepted) = accepted {
        accepted.push(Value::Null);
        schema = schema.enum_values(Some(accepted));
    }
    Schema::Object(schema.build())
}

fn patient_schema(fields: &[InputField], hospitals: Option<&[String]>) -> Schema {
    let mut object = ObjectBuilder::new()
        .description(Some(
            "One patient. Send every input the model uses; null where it was not measured.",
        ))
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    for field in fields {
        object = object.property(field.name.clone(), field_schema(field));
        if field.used {
            object = object.required(field.name.clone());
        }
    }

    let hospital = match hospitals {
        Some(known) => {
            object = object.required(HOSPITAL);
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(known.iter().map(|h| Value::from(h.as_str()))))
        }
        None => ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .description(Some("Ignored: this model does not use the hospital.")),
    };
    Schema::Object(object.property(HOSPITAL, hospital).build())
}

fn batch_schema(max_rows: Option<usize>) -> Schema {
    let rows = ArrayBuilder::new()
        .items(Ref::from_schema_name("Patient"))
        .min_items(Some(1))
        .max_items(max_rows);
    Schema::Object(
        ObjectBuilder::new()
            .property("rows", rows)
            .required("rows")
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .build(),
    )
}

impl PartialSchema for PatientDoc {
    fn schema() -> RefOr<Schema> {
        RefOr::T(patient_schema(&contract_schema(), None))
    }
}

impl ToSchema for PatientDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Patient")
    }
}

impl PartialSchema for BatchRequestDoc {
    fn schema() -> RefOr<Schema> {
        RefOr::T(batch_schema(None))
    }
}

impl ToSchema for BatchRequestDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("BatchRequest")
    }
}

/// The document as served: the patient schema of the loaded model (or of
/// the contract when none is loaded) and the configured batch limit.
pub fn document(schema: Option<&input::Schema>, max_rows: usize) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    if let Some(components) = doc.components.as_mut() {
        let patient = match schema {
            Some(s) => {
                let fields: Vec<InputField> = s.fields().cloned().collect();
                patient_schema(&fields, s.hospitals())
            }
            None => patient_schema(&contract_schema(), None),
        };
        components
            .schemas
            .insert("Patient".to_owned(), RefOr::T(patient));
        components.schemas.insert(
            "BatchRequest".to_owned(),
            RefOr::T(batch_schema(Some(max_rows))),
        );
    }
    doc
}
